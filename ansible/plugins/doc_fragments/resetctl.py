# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # the options of module_utils/resetctl.py COMMON_ARGS
    DOCUMENTATION = r'''
options:
  root:
    description:
      - Operate on the tree at this path (resetctl's C(--root)), a mounted image of an appliance.
      - Without it, the appliance the task runs on.
    type: path
  config_file:
    description:
      - The resetkit configuration file (resetctl's C(--config)), instead of C(/etc/resetkit/resetd.conf) in the root.
    type: path
  resetctl:
    description:
      - The resetctl program. A bare name is looked up on C(PATH), C(/usr/sbin) and C(/usr/bin).
    type: path
    default: resetctl
notes:
  - Every call is C(resetctl --json); a failing resetctl fails the task with its message as C(msg) and its exit code as C(rc).
  - See resetctl(8) for the commands and exit codes.
'''
