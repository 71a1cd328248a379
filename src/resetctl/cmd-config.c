/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resetctl config … / rescue …: the configuration store verbs. */
#include "resetctl.h"

const struct rk_verb rk_config_verbs[] = {
        {}
};
