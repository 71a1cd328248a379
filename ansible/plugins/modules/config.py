#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: config
short_description: Commit or roll back the running configuration of a resetkit appliance
version_added: 0.1.0
description:
  - Makes a document the running configuration of the appliance's configuration store (C(resetctl config commit)),
    or commits one of its backups again (C(resetctl config rollback)).
  - Idempotent. A document that parses to the same JSON value as the running configuration changes nothing,
    and neither does rolling back to a backup equal to the running configuration.
  - The previous running configuration becomes backup 1, as with every commit.
  - Configurations may hold secrets. Diff mode and C(-v) show the document; use C(no_log) on such tasks.
options:
  state:
    description:
      - C(committed) makes the document of C(content) or C(src) the running configuration.
      - C(rolled_back) commits backup C(backup) again.
    type: str
    choices: [committed, rolled_back]
    default: committed
  content:
    description:
      - The new running configuration. A string is the document's text, committed byte for byte;
        a dictionary or list is serialized as JSON (indent 2, newline at the end).
      - Mutually exclusive with C(src).
    type: raw
  src:
    description:
      - A file holding the new running configuration. It is read on the controller (the action plugin passes its text on
        as C(content)) unless C(remote_src) is true, when it is a path on the appliance.
      - Mutually exclusive with C(content).
    type: path
  remote_src:
    description:
      - Whether C(src) is a path on the appliance rather than on the controller.
    type: bool
    default: false
  backup:
    description:
      - With C(state=rolled_back), the backup to commit again, 1 being the newest.
    type: int
extends_documentation_fragment:
  - resetkit.appliance.resetctl
attributes:
  check_mode:
    support: full
    description: The document is parsed (invalid JSON fails the task), nothing is committed.
  diff_mode:
    support: full
    description: The running configuration before and after, as pretty-printed JSON.
author:
  - resetkit developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Commit the site's configuration (a file on the controller)
  resetkit.appliance.config:
    src: files/router.json

- name: Commit a document given inline
  resetkit.appliance.config:
    content:
      hostname: edge-1
      interfaces: [wan0, lan0]

- name: Go back to the previous running configuration
  resetkit.appliance.config:
    state: rolled_back
    backup: 1

- name: Commit into a mounted image instead of the running system
  resetkit.appliance.config:
    root: /mnt/image
    src: /srv/images/router.json
    remote_src: true
'''

RETURN = r'''
changed:
  description: Whether the running configuration changed.
  returned: always
  type: bool
running:
  description: SHA-256 of the running configuration after the task.
  returned: always
  type: str
  sample: e8c628edc9968ef0c668f54e0ba2636b35503357eb1aca0ddc828aeace432f67
previous:
  description: SHA-256 of the running configuration before the task; null when there was none.
  returned: always
  type: str
sha256:
  description: SHA-256 of every stored configuration after the task, by its name in C(resetctl config list).
  returned: always
  type: dict
  sample: {"running": "e8c6...", "backup-1": "d3c9...", "rescue": "e8c6...", "factory": "d3c9..."}
'''

import hashlib
import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.resetkit.appliance.plugins.module_utils.resetctl import (
    Resetctl, argument_spec, header, pretty, same_document)


def strict_json(text):
    """Python's json module takes NaN and Infinity; resetctl does not."""
    def no_constant(name):
        raise ValueError('%s is not JSON' % name)
    return json.loads(text, parse_constant=no_constant)


def new_text(module):
    p = module.params
    if p['content'] is not None:
        c = p['content']
        return c if isinstance(c, str) else json.dumps(c, indent=2) + '\n'
    try:
        with open(p['src'], 'rb') as f:
            return to_text(f.read(), errors='surrogate_or_strict')
    except (OSError, UnicodeError) as e:
        module.fail_json(msg='cannot read %s: %s' % (p['src'], e))


def commit(module, rc, configs):
    text = new_text(module)
    entry = next((c for c in configs if c['name'] == 'running'), None)
    # a running configuration that does not verify is no reason to keep it
    running = rc.document('config') if entry and entry.get('status') == 'ok' else None
    try:
        new = strict_json(text)
        if not isinstance(new, dict):
            raise ValueError('the document is not a JSON object')
    except ValueError as e:
        if module.check_mode:
            module.fail_json(msg='the new configuration is not valid: %s' % e)
        new = None  # resetctl refuses it with its own message
    changed = new is None or running is None or not same_document(new, running)
    if changed and not module.check_mode:
        path = rc.write_temp(text)
        try:
            rc.run('config', 'commit', path)
        finally:
            module.cleanup(path)
    return changed, running, new, hashlib.sha256(text.encode('utf-8', 'surrogateescape')).hexdigest()


def rollback(module, rc, configs):
    n = module.params['backup']
    shas = rc.sha256(configs)
    name = 'backup-%d' % n
    if name not in shas and module.check_mode:
        backups = len([c for c in configs if c['name'].startswith('backup-')])
        module.fail_json(msg='no %s: the store holds %d backups' % (name, backups))
    changed = name not in shas or shas[name] != shas.get('running')
    running = new = None
    if module._diff:
        running = rc.document('config') if 'running' in shas else None
        new = next((rc.read_document(c) for c in configs if c['name'] == name), None)
    if changed and not module.check_mode:
        rc.run('config', 'rollback', str(n))
    return changed, running, new, shas.get(name)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            state=dict(type='str', default='committed', choices=['committed', 'rolled_back']),
            content=dict(type='raw'),
            src=dict(type='path'),
            remote_src=dict(type='bool', default=False),
            backup=dict(type='int'),
        ),
        mutually_exclusive=[('content', 'src')],
        required_if=[('state', 'committed', ('content', 'src'), True),
                     ('state', 'rolled_back', ('backup',))],
        supports_check_mode=True,
    )
    if module.params['backup'] is not None and module.params['backup'] < 1:
        module.fail_json(msg='backup must be 1 or more (1 = the newest), not %d' % module.params['backup'])
    rc = Resetctl(module)
    before = rc.configurations()
    previous = rc.sha256(before).get('running')
    if module.params['state'] == 'committed':
        changed, old, new, new_sha = commit(module, rc, before)
    else:
        changed, old, new, new_sha = rollback(module, rc, before)
    after = rc.sha256(rc.configurations()) if changed and not module.check_mode else rc.sha256(before)
    result = dict(changed=changed, sha256=after, running=after.get('running'), previous=previous)
    if module._diff:
        result['diff'] = dict(before=pretty(old), after=pretty(new if changed else old),
                              before_header=header('running', previous),
                              after_header=header('running', new_sha if changed else previous))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
