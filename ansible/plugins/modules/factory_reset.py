#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: factory_reset
short_description: Request, cancel or carry out the factory reset of a resetkit appliance
version_added: 0.1.0
description:
  - Wipes the appliance back to its factory state with C(resetctl factory-reset) and returns the sanitization
    certificate (NIST SP 800-88) of the reset, with its signature when the appliance signs it.
  - On a running appliance (no C(root)) a reset is carried out at the next boot, before any service starts.
    C(state=completed) therefore requests it, reboots the appliance the way M(ansible.builtin.reboot) does, waits
    for it to come back and checks that C(resetctl status) says C(complete). The reboot makes this task
    unsuitable for the controller itself (a C(local) connection is refused).
  - With C(root) (a mounted image) the reset runs at once on that tree.
  - Idempotent. C(state=requested) when a request is pending, C(state=cancelled) when none is, and
    C(state=completed) when the last reset completed (unless C(force)) change nothing.
options:
  state:
    description:
      - C(requested) records a request that the next boot carries out (C(resetctl factory-reset --at-boot --then none));
        nothing reboots.
      - C(cancelled) withdraws a request that has not started (C(resetctl factory-reset --cancel)).
      - C(completed) makes sure a reset has completed, carrying one out when the last one did not (or C(force)).
    type: str
    choices: [requested, cancelled, completed]
    default: completed
  zeroize:
    description:
      - Whether the reset zeroes the inactive partition and the free space. C(false) is C(--no-zeroize).
    type: bool
    default: true
  force:
    description:
      - With C(state=completed), carry out a new reset even when the last one completed.
    type: bool
    default: false
  reboot_timeout:
    description:
      - With C(state=completed) on a running appliance, how long (seconds) to wait for it to come back after the reboot.
    type: int
    default: 1800
  reboot_args:
    description:
      - With C(state=completed) on a running appliance, further arguments of M(ansible.builtin.reboot), for example
        C(reboot_command), C(boot_time_command), C(test_command), C(connect_timeout), C(post_reboot_delay).
    type: dict
    default: {}
  then:
    description:
      - With C(root) and C(state=completed), what follows the reset (C(--then)). With C(root) the host never reboots,
        and the tree's own reboot and poweroff commands are skipped.
    type: str
    choices: [reboot, poweroff, none]
    default: none
extends_documentation_fragment:
  - resetkit.appliance.resetctl
attributes:
  check_mode:
    support: full
    description: The plan of C(resetctl factory-reset --dry-run --json) is returned as C(plan); nothing runs, nothing reboots.
  diff_mode:
    support: none
    description: The plan of check mode tells what a reset removes.
author:
  - resetkit developers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Factory-reset the routers and keep their certificates
  resetkit.appliance.factory_reset:
    state: completed
    reboot_timeout: 3600
  register: reset

- name: What a reset would remove (nothing runs)
  resetkit.appliance.factory_reset:
  check_mode: true
  register: plan

- name: Reset at the next maintenance reboot
  resetkit.appliance.factory_reset:
    state: requested

- name: Changed our minds
  resetkit.appliance.factory_reset:
    state: cancelled

- name: Reset a mounted image at once, without zeroing
  resetkit.appliance.factory_reset:
    root: /mnt/image
    zeroize: false
'''

RETURN = r'''
changed:
  description: Whether a request was recorded or withdrawn, or a reset carried out.
  returned: always
  type: bool
status:
  description: C(resetctl status --json) after the task; C(factory_reset) is none, requested, in-progress, complete or failed.
  returned: always
  type: dict
  sample: {"factory_reset": "complete", "attempts": 1, "entries": 78}
sha256:
  description: SHA-256 of every stored configuration after the task, by its name in C(resetctl config list).
  returned: always
  type: dict
certificate:
  description: The sanitization certificate of the reset (C(resetctl certificate --json)).
  returned: with C(state=completed), not in check mode
  type: dict
signature:
  description: Base64 of the certificate's detached signature when the certificate says it is signed, else null.
  returned: with C(state=completed), not in check mode
  type: str
plan:
  description: In check mode, the plan of C(resetctl factory-reset --dry-run --json) when the task would change something.
  returned: check mode
  type: dict
rebooted:
  description: Whether the appliance was rebooted to carry the reset out.
  returned: with C(state=completed) without C(root)
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.resetkit.appliance.plugins.module_utils.resetctl import RC_FAILURE, Resetctl, argument_spec


def reset_args(module, *args):
    return ['factory-reset'] + list(args) + ([] if module.params['zeroize'] else ['--no-zeroize'])


def done(module, rc, changed, status, **result):
    module.exit_json(changed=changed, status=status, sha256=rc.sha256(rc.configurations()), **result)


def completed(module, rc, status):
    """The certificate of a completed reset; the task fails with the status
    when the last reset did not complete."""
    if status.get('factory_reset') != 'complete':
        module.fail_json(msg='the factory reset did not complete: status %s' % status.get('factory_reset'),
                         status=status, changed=module.params['_phase'] == 'verify')
    cert, sig = rc.certificate(status)
    return dict(certificate=cert, signature=sig)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            state=dict(type='str', default='completed', choices=['requested', 'cancelled', 'completed']),
            zeroize=dict(type='bool', default=True),
            force=dict(type='bool', default=False),
            reboot_timeout=dict(type='int', default=1800),
            reboot_args=dict(type='dict', default={}),
            then=dict(type='str', default='none', choices=['reboot', 'poweroff', 'none']),
            # the action plugin's last step, after the reboot
            _phase=dict(type='str', choices=['verify']),
        ),
        supports_check_mode=True,
    )
    p = module.params
    rc = Resetctl(module)
    status = rc.status()
    state = status.get('factory_reset')
    if p['_phase'] == 'verify':
        done(module, rc, False, status, **completed(module, rc, status))
    if p['state'] == 'requested':
        changed, run = state != 'requested', reset_args(module, '--at-boot', '--yes', '--then', 'none')
    elif p['state'] == 'cancelled':
        changed, run = state == 'requested', ['factory-reset', '--cancel']
    else:
        changed = state != 'complete' or p['force']
        run = reset_args(module, '--now', '--yes', '--json', '--then', p['then'])
        if not changed:
            done(module, rc, False, status, **completed(module, rc, status))
        if not p['root'] and not module.check_mode:
            module.fail_json(msg='state=completed on a running appliance is carried out by the action plugin '
                                 'resetkit.appliance.factory_reset (request, reboot, verify); it was not used')
    if module.check_mode:
        plan = None
        if changed and p['state'] != 'cancelled':
            at_boot = p['state'] == 'requested' or not p['root']
            plan = rc.json(*reset_args(module, '--at-boot' if at_boot else '--now', '--dry-run', '--json'))
        done(module, rc, changed, status, plan=plan)
    if changed:
        # a reset that has begun goes on past a failed entry (exit 1): it changed the tree
        rc.run(*run, changed_rcs=(RC_FAILURE,) if p['state'] == 'completed' else ())
        status = rc.status()
    extra = completed(module, rc, status) if p['state'] == 'completed' else {}
    done(module, rc, changed, status, **extra)


if __name__ == '__main__':
    main()
