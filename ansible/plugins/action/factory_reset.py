# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
"""resetkit.appliance.factory_reset, state=completed on a running appliance
(no root): a running system cannot wipe what its own processes hold, so the
reset is requested, carried out by the next boot before any service starts,
and checked afterwards:

  1. the info module: nothing to do when the last reset completed (no force);
  2. the module with state=requested (resetctl factory-reset --at-boot);
  3. the ansible.builtin.reboot action, waiting for the appliance to return;
  4. the module with _phase=verify: status must say complete; the certificate.

With root, in check mode and for the other states, only the module runs."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

MODULE = 'resetkit.appliance.factory_reset'
COMMON = ('root', 'config_file', 'resetctl')


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if args.get('state', 'completed') != 'completed' or args.get('root') or self._play_context.check_mode:
            result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
            return result

        common = dict((k, args[k]) for k in COMMON if args.get(k) is not None)
        info = self._execute_module(module_name='resetkit.appliance.info', module_args=common, task_vars=task_vars)
        if info.get('failed'):
            return dict(result, **info)
        force = boolean(args.get('force', False), strict=False)
        if info['status'].get('factory_reset') == 'complete' and not force:
            result.update(changed=False, rebooted=False, status=info['status'], sha256=info['sha256'],
                          certificate=info['certificate'], signature=info['signature'])
            return result

        requested = self._execute_module(module_name=MODULE, module_args=dict(args, state='requested'),
                                         task_vars=task_vars)
        if requested.get('failed'):
            return dict(result, **requested)

        reboot = self._reboot(args, task_vars)
        if reboot.get('failed'):
            reboot['msg'] = 'the factory reset is requested, but the reboot failed: %s' % reboot.get('msg')
            return dict(result, changed=True, rebooted=False, status=requested.get('status'), **{
                k: v for k, v in reboot.items() if k in ('failed', 'msg', 'elapsed')})

        verified = self._execute_module(module_name=MODULE, module_args=dict(args, _phase='verify'),
                                        task_vars=task_vars)
        result.update(verified)
        result.update(changed=True, rebooted=True, elapsed=reboot.get('elapsed'))
        return result

    def _reboot(self, args, task_vars):
        """The ansible.builtin.reboot action on this task's connection."""
        task = self._task.copy()
        task.args = dict(args.get('reboot_args') or {})
        task.args.setdefault('reboot_timeout', int(args.get('reboot_timeout', 1800)))
        task.args.setdefault('msg', 'Factory reset by resetkit.appliance.factory_reset')
        reboot = self._shared_loader_obj.action_loader.get(
            'ansible.builtin.reboot', task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        return reboot.run(task_vars=task_vars)
