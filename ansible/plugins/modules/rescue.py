#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: rescue
short_description: Save, load or delete the rescue configuration of a resetkit appliance
version_added: 0.1.0
description:
  - The rescue configuration is what a 5-15 s press of the reset button restores.
    It is kept apart from the backups, so later commits do not rotate it away.
  - Idempotent. Each state is decided from the SHA-256 of the stored configurations (C(resetctl config list)).
options:
  state:
    description:
      - C(saved) makes the running configuration the rescue configuration (C(resetctl rescue save));
        unchanged when they are already equal.
      - C(loaded) commits the rescue configuration as the running one (C(resetctl rescue load));
        unchanged when they are equal, failed when there is no rescue configuration.
      - C(absent) deletes the rescue configuration (C(resetctl rescue delete)); unchanged when there is none.
    type: str
    choices: [saved, loaded, absent]
    default: saved
extends_documentation_fragment:
  - resetkit.appliance.resetctl
attributes:
  check_mode:
    support: full
    description: Decided from C(resetctl config list) only; nothing is changed.
  diff_mode:
    support: full
    description: The rescue configuration before and after (C(saved), C(absent)), the running one for C(loaded).
author:
  - resetkit developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Make the running configuration the rescue configuration of every router
  resetkit.appliance.rescue:
    state: saved

- name: Go back to the rescue configuration
  resetkit.appliance.rescue:
    state: loaded

- name: No rescue configuration on the image
  resetkit.appliance.rescue:
    state: absent
    root: /mnt/image
'''

RETURN = r'''
changed:
  description: Whether the rescue (C(saved), C(absent)) or the running configuration (C(loaded)) changed.
  returned: always
  type: bool
sha256:
  description: SHA-256 of every stored configuration after the task, by its name in C(resetctl config list).
  returned: always
  type: dict
  sample: {"running": "e8c6...", "rescue": "e8c6...", "factory": "d3c9..."}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.resetkit.appliance.plugins.module_utils.resetctl import (
    Resetctl, argument_spec, header, pretty)

# state: (resetctl's command, the configuration it changes, the one it becomes)
ACTIONS = {
    'saved': ('save', 'rescue', 'running'),
    'loaded': ('load', 'running', 'rescue'),
    'absent': ('delete', 'rescue', None),
}
SHOW = {'running': 'config', 'rescue': 'rescue'}


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            state=dict(type='str', default='saved', choices=list(ACTIONS)),
        ),
        supports_check_mode=True,
    )
    rc = Resetctl(module)
    command, target, source = ACTIONS[module.params['state']]
    shas = rc.sha256(rc.configurations())
    if source and source not in shas and module.check_mode:
        module.fail_json(msg='there is no %s configuration to %s' % (source, command))
    if source is None:
        changed = target in shas
    else:  # without a source resetctl fails, with its own message
        changed = source not in shas or shas[source] != shas.get(target)
    diff = None
    if module._diff:
        doc = dict((n, rc.document(SHOW[n]) if n in shas else None) for n in SHOW)
        diff = dict(before=pretty(doc[target]), after=pretty(doc[source] if source else None),
                    before_header=header(target, shas.get(target)),
                    after_header=header(target, shas.get(source) if source else None))
    if changed and not module.check_mode:
        rc.run('rescue', command)
        shas = rc.sha256(rc.configurations())
    result = dict(changed=changed, sha256=shas)
    if diff:
        result['diff'] = diff
    module.exit_json(**result)


if __name__ == '__main__':
    main()
