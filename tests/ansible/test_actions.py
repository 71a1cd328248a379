# SPDX-License-Identifier: GPL-2.0-or-later
"""The action plugins: config reads src on the controller; factory_reset
state=completed without root requests, reboots through
ansible.builtin.reboot and verifies.  Through the real ansible-playbook on
a local connection (the real resetctl on --root trees, or the fake one
where no root is given), and in-process for the reboot sequence, which no
local connection may run."""
import json
import subprocess
import sys
from unittest import mock

import pytest
import yaml

from rkansible import RESETCTL, SRC, FakeResetctl, ansible_env, collection_path

sys.path.insert(0, str(SRC / "tests" / "e2e"))
from rkreset import build_ssr_root  # noqa: E402
from rkstore import Tree  # noqa: E402

needs_resetctl = pytest.mark.skipif(not RESETCTL.exists(), reason=f"no {RESETCTL} (RESETKIT_BUILD_DIR)")


def playbook(tmp_path, tasks, *opts):
    """Run TASKS on localhost (local connection); the JSON callback's result."""
    book = tmp_path / "play" / "site.yml"
    book.parent.mkdir(exist_ok=True)
    book.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    env = ansible_env(tmp_path)
    env.update(ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    p = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", *opts, str(book)],
                       capture_output=True, text=True, env=env, timeout=300, cwd=str(book.parent))
    try:
        out = json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f"rc {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p.returncode, [t["hosts"]["localhost"] for play in out["plays"] for t in play["tasks"]]


@needs_resetctl
def test_config_src_is_read_on_the_controller(tmp_path):
    tree = Tree(tmp_path / "root")
    files = tmp_path / "play" / "files"
    files.mkdir(parents=True)
    (files / "router.json").write_text('{"hostname": "edge-1"}\n')
    task = {"resetkit.appliance.config": {"src": "router.json", "root": tree.root, "resetctl": str(RESETCTL)}}
    rc, (r,) = playbook(tmp_path, [task])
    assert rc == 0 and r["changed"] is True, r
    assert tree.show() == b'{"hostname": "edge-1"}\n', "committed byte for byte"
    assert "src" not in r["invocation"]["module_args"] or r["invocation"]["module_args"]["src"] is None
    rc, (r,) = playbook(tmp_path, [task])
    assert rc == 0 and r["changed"] is False
    # a file that is not there: the task fails on the controller
    rc, (r,) = playbook(tmp_path, [{"resetkit.appliance.config": dict(task["resetkit.appliance.config"],
                                                                      src="nothere.json")}])
    assert rc != 0 and r["failed"] and "nothere.json" in r["msg"]
    # both: the module says they exclude each other
    rc, (r,) = playbook(tmp_path, [{"resetkit.appliance.config": dict(task["resetkit.appliance.config"],
                                                                      content="{}")}])
    assert rc != 0 and "mutually exclusive" in r["msg"]


@needs_resetctl
def test_check_and_diff_through_ansible_playbook(tmp_path):
    tree = Tree(tmp_path / "root")
    tree.commit('{"a": 1}')
    index = tree.index()
    task = {"resetkit.appliance.config": {"content": {"a": 2}, "root": tree.root, "resetctl": str(RESETCTL)}}
    rc, (r,) = playbook(tmp_path, [task], "--check", "--diff")
    assert rc == 0 and r["changed"] is True and tree.index() == index
    assert json.loads(r["diff"]["before"]) == {"a": 1} and json.loads(r["diff"]["after"]) == {"a": 2}


@needs_resetctl
def test_factory_reset_with_root_is_the_module_alone(tmp_path):
    root = build_ssr_root(tmp_path / "appliance")
    task = {"resetkit.appliance.factory_reset": {"root": str(root), "zeroize": False, "resetctl": str(RESETCTL)}}
    rc, (r,) = playbook(tmp_path, [task])
    assert rc == 0 and r["changed"] is True and r["certificate"]["result"] == "complete", r
    rc, (r,) = playbook(tmp_path, [task])
    assert rc == 0 and r["changed"] is False


def test_without_root_a_local_connection_is_not_rebooted(tmp_path):
    # the fake resetctl: nothing here acts on this machine
    fake = FakeResetctl(tmp_path).on("config list", []).on("status", {"factory_reset": "none"})
    fake.on("certificate", {"rc": 1}).on("factory-reset", "")
    task = {"resetkit.appliance.factory_reset": {"resetctl": str(fake.path), "zeroize": False}}
    rc, (r,) = playbook(tmp_path, [task])
    assert rc != 0 and r["failed"] and r["changed"] is True and r["rebooted"] is False
    assert "requested, but the reboot failed" in r["msg"] and "local connection" in r["msg"]
    assert [c for c in fake.commands() if c.startswith("factory-reset")] == [
        "factory-reset --at-boot --yes --then none --no-zeroize"]


def test_without_root_a_completed_reset_is_left_alone(tmp_path):
    cert = {"result": "complete", "signature": {"state": "none"}}
    fake = FakeResetctl(tmp_path).on("config list", []).on("status", {"factory_reset": "complete"})
    fake.on("certificate", cert)
    task = {"resetkit.appliance.factory_reset": {"resetctl": str(fake.path)}}
    rc, (r,) = playbook(tmp_path, [task])
    assert rc == 0 and r["changed"] is False and r["certificate"] == cert, r
    assert fake.commands() == ["config list", "status", "certificate"]
    # check mode: the module's plan, never a reboot
    (fake.dir / "calls.jsonl").unlink()
    task["resetkit.appliance.factory_reset"]["force"] = True
    fake.on("factory-reset", {"steps": []})
    rc, (r,) = playbook(tmp_path, [task], "--check")
    assert rc == 0 and r["changed"] is True and r["plan"] == {"steps": []}
    assert [c for c in fake.commands() if c.startswith("factory-reset")] == ["factory-reset --at-boot --dry-run --json"]


# --- the sequence, in-process ------------------------------------------------

@pytest.fixture
def action_class(tmp_path):
    sys.path.insert(0, str(collection_path(tmp_path / "c")))
    try:
        from ansible_collections.resetkit.appliance.plugins.action.factory_reset import ActionModule
        yield ActionModule
    finally:
        sys.path.remove(str(tmp_path / "c"))


def run_action(cls, args, modules, reboot_result, check=False):
    """The action with _execute_module answering from MODULES (a list of
    results, in turn) and a fake reboot action; (result, module calls,
    the reboot task's args)."""
    task = mock.MagicMock()
    task.args = args
    task.async_val = 0
    copy = mock.MagicMock()
    task.copy.return_value = copy
    reboot = mock.MagicMock()
    reboot.run.return_value = reboot_result
    shared = mock.MagicMock()
    shared.action_loader.get.return_value = reboot
    play_context = mock.MagicMock()
    play_context.check_mode = check
    a = cls(task, mock.MagicMock(), play_context, mock.MagicMock(), mock.MagicMock(), shared)
    calls = []

    def execute(module_name, module_args, task_vars):
        calls.append((module_name, dict(module_args)))
        return modules.pop(0)
    a._execute_module = execute
    with mock.patch("ansible.plugins.action.ActionBase.run", return_value={}):
        result = a.run(task_vars={})
    got = shared.action_loader.get.call_args
    return result, calls, (got[0][0], copy.args) if got else None


def test_request_reboot_verify(action_class):
    cert = {"result": "complete"}
    result, calls, reboot = run_action(
        action_class, {"zeroize": False, "reboot_timeout": 60, "reboot_args": {"boot_time_command": "cat /x"}},
        [{"status": {"factory_reset": "none"}, "sha256": {}, "certificate": None, "signature": None},
         {"changed": True, "status": {"factory_reset": "requested"}},
         {"changed": False, "status": {"factory_reset": "complete"}, "certificate": cert, "signature": None,
          "sha256": {"running": "f"}}],
        {"rebooted": True, "elapsed": 7})
    assert [c[0] for c in calls] == ["resetkit.appliance.info", "resetkit.appliance.factory_reset",
                                     "resetkit.appliance.factory_reset"]
    assert calls[1][1]["state"] == "requested" and calls[1][1]["zeroize"] is False
    assert calls[2][1]["_phase"] == "verify"
    assert reboot[0] == "ansible.builtin.reboot"
    assert reboot[1] == {"boot_time_command": "cat /x", "reboot_timeout": 60,
                         "msg": "Factory reset by resetkit.appliance.factory_reset"}
    assert result["changed"] is True and result["rebooted"] is True and result["certificate"] == cert
    assert result["elapsed"] == 7


def test_a_reset_that_failed_at_boot_fails_the_task(action_class):
    failed = {"factory_reset": "failed", "failed": [{"entry": 4}]}
    result, calls, reboot = run_action(
        action_class, {},
        [{"status": {"factory_reset": "none"}},
         {"changed": True, "status": {"factory_reset": "requested"}},
         {"failed": True, "msg": "the factory reset did not complete: status failed", "status": failed}],
        {"rebooted": True})
    assert result["failed"] and result["status"] == failed and result["changed"] is True


def test_a_refused_request_reboots_nothing(action_class):
    result, calls, reboot = run_action(
        action_class, {},
        [{"status": {"factory_reset": "none"}},
         {"failed": True, "rc": 6, "msg": "resetctl: --at-boot: refused"}],
        {"rebooted": True})
    assert reboot is None and result["rc"] == 6 and result["msg"] == "resetctl: --at-boot: refused"


@pytest.mark.parametrize("args,check", [({"root": "/mnt/image"}, False), ({}, True), ({"state": "requested"}, False)])
def test_root_check_mode_and_other_states_run_only_the_module(action_class, args, check):
    result, calls, reboot = run_action(action_class, args, [{"changed": True}], {}, check=check)
    assert reboot is None and calls == [("resetkit.appliance.factory_reset", args)]
