# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
"""resetkit.appliance.config: src is a file on the controller (as with
ansible.builtin.copy) unless remote_src; its text goes to the module as
content, so nothing but the module is copied to the appliance."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        src = args.get('src')
        # both given: the module says they are mutually exclusive
        if src is not None and args.get('content') is None and not boolean(args.get('remote_src', False), strict=False):
            try:
                path = self._loader.get_real_file(self._find_needle('files', src), decrypt=True)
                with open(path, 'rb') as f:
                    args['content'] = to_text(f.read(), errors='surrogate_or_strict')
            except (AnsibleError, OSError, UnicodeError) as e:
                result.update(failed=True, msg='cannot read src %s on the controller: %s' % (src, to_text(e)))
                return result
            finally:
                self._loader.cleanup_all_tmp_files()
            del args['src']
        result.update(self._execute_module(module_name='resetkit.appliance.config', module_args=args,
                                           task_vars=task_vars))
        return result
