#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: info
short_description: Read the state of a resetkit appliance
version_added: 0.1.0
description:
  - The factory reset's status, every stored configuration with its SHA-256 and the last reset's sanitization
    certificate with its signature. Changes nothing.
extends_documentation_fragment:
  - resetkit.appliance.resetctl
attributes:
  check_mode:
    support: full
    description: Runs as usual; it changes nothing anyway.
  diff_mode:
    support: none
    description: Nothing changes.
author:
  - resetkit developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: What the routers hold
  resetkit.appliance.info:
  register: appliance

- name: Routers without a rescue configuration
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} has no rescue configuration"
  when: "'rescue' not in appliance.sha256"
'''

RETURN = r'''
status:
  description: C(resetctl status --json); C(factory_reset) is none, requested, in-progress, complete or failed.
  returned: always
  type: dict
  sample: {"factory_reset": "none"}
configurations:
  description: C(resetctl config list --json), each with name, sha256, size, time, origin, path and status.
  returned: always
  type: list
  elements: dict
sha256:
  description: SHA-256 of every stored configuration, by name (running, backup-1, ..., rescue, factory).
  returned: always
  type: dict
certificate:
  description: The last reset's sanitization certificate (C(resetctl certificate --json)); null when no reset has finished.
  returned: always
  type: dict
signature:
  description: Base64 of the certificate's detached signature when the certificate says it is signed, else null.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.resetkit.appliance.plugins.module_utils.resetctl import Resetctl, argument_spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    rc = Resetctl(module)
    configs = rc.configurations()
    status = rc.status()
    cert, sig = rc.certificate(status)
    module.exit_json(changed=False, status=status, configurations=configs, sha256=rc.sha256(configs),
                     certificate=cert, signature=sig)


if __name__ == '__main__':
    main()
