# SPDX-License-Identifier: GPL-2.0-or-later
"""The fleet test's stdout callback: the whole run as one JSON document
(plays → tasks → per-host results, and the recap's per-host stats), the
shape of ansible.posix.json, which ansible-core alone does not ship."""
import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: fleet_json
type: stdout
short_description: the run as one JSON document (resetkit's fleet test)
description: plays, tasks, per-host results and the recap's stats as JSON on stdout
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "fleet_json"

    def __init__(self):
        super().__init__()
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({"play": {"name": play.get_name()}, "tasks": []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.plays[-1]["tasks"].append({"task": {"name": task.get_name(), "tags": list(task.tags)}, "hosts": {}})

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def _record(self, result, **extra):
        r = dict(self._clean_results(result._result, result._task.action) or result._result)
        r.update(extra)
        r["action"] = result._task.action
        host = result._host.get_name()
        # a delegated task's result belongs to the host it ran for
        self.plays[-1]["tasks"][-1]["hosts"][host] = r

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True, ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        out = {"plays": self.plays, "stats": {h: stats.summarize(h) for h in hosts}}
        self._display.display(json.dumps(out, indent=2, default=str, sort_keys=True))
