/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resetctl factory-reset: the software factory reset. */
#include "resetctl.h"

const struct rk_verb rk_reset_verbs[] = {
        {}
};
