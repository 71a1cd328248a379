# SPDX-License-Identifier: GPL-2.0-or-later
"""The modules' logic against a fake resetctl that records its argv and
answers with canned JSON and exit codes: argument handling, every
idempotence decision, check and diff mode, failures passed on."""
import base64
import json
import os

import pytest

from rkansible import FakeResetctl, entry, run_module, show

A, B, C = "a" * 64, "b" * 64, "c" * 64
FACTORY = entry("factory", "f" * 64, "/usr/lib/resetkit/factory-config.json")


@pytest.fixture
def fake(tmp_path):
    return FakeResetctl(tmp_path)


def mod(tmp_path, fake, name, check=False, diff=False, **args):
    args.setdefault("root", str(tmp_path / "root"))
    return run_module(tmp_path, name, dict(args, resetctl=str(fake.path)), check=check, diff=diff)


# --- arguments ---------------------------------------------------------------

def test_content_and_src_are_mutually_exclusive(tmp_path, fake):
    rc, r = mod(tmp_path, fake, "config", content="{}", src="/x.json")
    assert rc == 1 and r["failed"] and "mutually exclusive" in r["msg"]
    assert fake.calls() == []


def test_committed_needs_content_or_src(tmp_path, fake):
    rc, r = mod(tmp_path, fake, "config")
    assert rc == 1 and "content" in r["msg"] and "src" in r["msg"]
    assert fake.calls() == []


@pytest.mark.parametrize("backup", [0, -1])
def test_backup_must_be_1_or_more(tmp_path, fake, backup):
    rc, r = mod(tmp_path, fake, "config", state="rolled_back", backup=backup)
    assert rc == 1 and "backup must be 1 or more" in r["msg"]
    assert fake.calls() == []


def test_rolled_back_needs_backup(tmp_path, fake):
    rc, r = mod(tmp_path, fake, "config", state="rolled_back")
    assert rc == 1 and "backup" in r["msg"]
    assert fake.calls() == []


def test_unknown_state_is_refused(tmp_path, fake):
    rc, r = mod(tmp_path, fake, "rescue", state="kept")
    assert rc == 1 and "state" in r["msg"]
    assert fake.calls() == []


def test_root_and_config_file_come_first_and_json_always(tmp_path, fake):
    fake.on("config list", [entry("running", A), FACTORY]).on("config show", show({"x": 1}, A))
    fake.on("config commit", "")
    root, conf = str(tmp_path / "root"), str(tmp_path / "op.conf")
    rc, r = mod(tmp_path, fake, "config", root=root, config_file=conf, content={"x": 2})
    assert rc == 0, r
    calls = fake.calls()
    assert len(calls) == 4
    for c in calls:
        assert c["argv"][:5] == ["--root", root, "--config", conf, "--json"]


def test_without_config_file_only_root(tmp_path, fake):
    fake.on("config list", [FACTORY]).on("status", {"factory_reset": "none"}).on("certificate", {"rc": 1})
    rc, r = mod(tmp_path, fake, "info")
    assert rc == 0
    assert [c["argv"][:3] for c in fake.calls()] == [["--root", str(tmp_path / "root"), "--json"]] * 3


# --- config: committed -------------------------------------------------------

def test_commit_of_the_same_value_is_unchanged(tmp_path, fake):
    fake.on("config list", [entry("running", A), FACTORY]).on("config show", show({"a": 1, "b": [1, 2]}, A))
    # other spacing and key order: the same JSON value
    rc, r = mod(tmp_path, fake, "config", content='{ "b": [1,2],\n"a": 1 }')
    assert rc == 0 and r["changed"] is False, r
    assert "config commit" not in " ".join(fake.commands())
    assert r["running"] == r["previous"] == A and r["sha256"] == {"running": A, "factory": FACTORY["sha256"]}


@pytest.mark.parametrize("new", [{"a": True}, {"a": 1.5}, {"a": 1, "b": None}, {}])
def test_commit_of_another_value_commits(tmp_path, fake, new):
    fake.on("config list", [entry("running", A)], [entry("running", B), entry("backup-1", A)])
    fake.on("config show", show({"a": 1}, A)).on("config commit", "")
    rc, r = mod(tmp_path, fake, "config", content=new)
    assert rc == 0 and r["changed"] is True, r
    assert fake.commands()[-2].startswith("config commit ")
    assert r["previous"] == A and r["running"] == B and r["sha256"] == {"running": B, "backup-1": A}


def test_commit_writes_the_text_byte_for_byte_mode_0600_and_removes_it(tmp_path, fake):
    fake.on("config list", [entry("running", A)]).on("config show", show({"a": 1}, A)).on("config commit", "")
    text = '{"a":2,   "z": "\u00e9"}'
    rc, r = mod(tmp_path, fake, "config", content=text)
    assert rc == 0 and r["changed"], r
    commit = [c for c in fake.calls() if "commit" in c["argv"]][0]
    path = commit["argv"][-1]
    assert commit["files"][path] == {"text": text, "mode": "0o600"}
    assert not os.path.exists(path)


def test_a_running_configuration_that_does_not_verify_is_replaced(tmp_path, fake):
    fake.on("config list", {"rc": 3, "stdout": [dict(entry("running", A), status="CORRUPT")]})
    fake.on("config commit", "")
    rc, r = mod(tmp_path, fake, "config", content={"a": 1})
    assert rc == 0 and r["changed"] is True
    assert "config show" not in fake.commands() and any(c.startswith("config commit") for c in fake.commands())


def test_a_dict_is_committed_as_indented_json(tmp_path, fake):
    fake.on("config list", [FACTORY]).on("config commit", "")
    rc, r = mod(tmp_path, fake, "config", content={"b": 1, "a": [1]})
    assert rc == 0 and r["changed"] and r["previous"] is None
    # no running configuration: nothing to show, nothing to compare
    assert "config show" not in fake.commands()
    commit = [c for c in fake.calls() if "commit" in c["argv"]][0]
    assert list(commit["files"].values())[0]["text"] == json.dumps({"b": 1, "a": [1]}, indent=2) + "\n"


def test_src_is_read_by_the_module_with_remote_src(tmp_path, fake):
    src = tmp_path / "router.json"
    src.write_text('{"a": 1}\n')
    fake.on("config list", [entry("running", A)]).on("config show", show({"a": 1}, A))
    rc, r = mod(tmp_path, fake, "config", src=str(src), remote_src=True)
    assert rc == 0 and r["changed"] is False, r
    rc, r = mod(tmp_path, fake, "config", src=str(tmp_path / "missing.json"), remote_src=True)
    assert rc == 1 and "missing.json" in r["msg"]


def test_check_mode_commits_nothing(tmp_path, fake):
    fake.on("config list", [entry("running", A)]).on("config show", show({"a": 1}, A))
    rc, r = mod(tmp_path, fake, "config", check=True, content={"a": 2})
    assert rc == 0 and r["changed"] is True and r["running"] == A
    assert fake.commands() == ["config list", "config show"]


@pytest.mark.parametrize("bad", ["{nope", "[1, 2]", '{"a": NaN}', ""])
def test_check_mode_fails_on_an_invalid_document(tmp_path, fake, bad):
    fake.on("config list", [entry("running", A)]).on("config show", show({"a": 1}, A))
    rc, r = mod(tmp_path, fake, "config", check=True, content=bad)
    assert rc == 1 and "not valid" in r["msg"]
    assert "config commit" not in " ".join(fake.commands())


def test_an_invalid_document_fails_with_resetctls_message(tmp_path, fake):
    fake.on("config list", [entry("running", A)]).on("config show", show({"a": 1}, A))
    fake.on("config commit", {"rc": 3, "stderr": "resetctl: /tmp/x.json:1: not JSON\nresetctl: nothing changed\n"})
    rc, r = mod(tmp_path, fake, "config", content="{nope")
    assert rc == 1 and r["failed"] and r["rc"] == 3 and r["changed"] is False
    assert r["msg"] == "resetctl: /tmp/x.json:1: not JSON\nresetctl: nothing changed"
    assert r["cmd"][-3:-1] == ["config", "commit"]


def test_diff_mode_shows_the_running_and_the_new_document(tmp_path, fake):
    fake.on("config list", [entry("running", A)]).on("config show", show({"b": 1, "a": 1}, A))
    rc, r = mod(tmp_path, fake, "config", check=True, diff=True, content='{"a": 2}')
    assert rc == 0 and r["changed"]
    d = r["diff"]
    assert d["before"] == json.dumps({"a": 1, "b": 1}, indent=2, sort_keys=True) + "\n"
    assert d["after"] == '{\n  "a": 2\n}\n'
    assert A in d["before_header"]
    import hashlib
    assert hashlib.sha256(b'{"a": 2}').hexdigest() in d["after_header"]


def test_apply_failure_is_a_failed_change(tmp_path, fake):
    fake.on("config list", [entry("running", A)]).on("config show", show({"a": 1}, A))
    fake.on("config commit", {"rc": 5, "stderr": "resetctl: committed, but apply-command failed\n"})
    rc, r = mod(tmp_path, fake, "config", content={"a": 2})
    assert rc == 1 and r["rc"] == 5 and r["changed"] is True


def test_busy_store_fails_with_message_and_rc(tmp_path, fake):
    fake.on("config list", {"rc": 4, "stderr": "line 1\nline 2\nline 3\nresetctl: the store is locked by 42\n"})
    rc, r = mod(tmp_path, fake, "rescue")
    assert rc == 1 and r["rc"] == 4 and r["msg"] == "line 2\nline 3\nresetctl: the store is locked by 42"
    assert r["stderr"].startswith("line 1") and r["cmd"][-2:] == ["config", "list"]


# --- config: rolled_back -----------------------------------------------------

def test_rollback_to_a_backup_equal_to_running_is_unchanged(tmp_path, fake):
    fake.on("config list", [entry("running", A), entry("backup-1", B), entry("backup-2", A)])
    rc, r = mod(tmp_path, fake, "config", state="rolled_back", backup=2)
    assert rc == 0 and r["changed"] is False
    assert fake.commands() == ["config list"]


def test_rollback_to_another_backup(tmp_path, fake):
    fake.on("config list", [entry("running", A), entry("backup-1", B)],
            [entry("running", B), entry("backup-1", A)]).on("config rollback", "")
    rc, r = mod(tmp_path, fake, "config", state="rolled_back", backup=1)
    assert rc == 0 and r["changed"] is True and r["previous"] == A and r["running"] == B
    assert fake.commands() == ["config list", "config rollback 1", "config list"]


def test_rollback_check_mode_and_diff(tmp_path, fake):
    backup = tmp_path / "backup.json"
    backup.write_text('{"old": true}')
    fake.on("config list", [entry("running", A), entry("backup-1", B, str(backup))])
    fake.on("config show", show({"new": True}, A))
    rc, r = mod(tmp_path, fake, "config", check=True, diff=True, state="rolled_back", backup=1)
    assert rc == 0 and r["changed"] is True
    assert fake.commands() == ["config list", "config show"]
    assert json.loads(r["diff"]["before"]) == {"new": True} and json.loads(r["diff"]["after"]) == {"old": True}
    assert B in r["diff"]["after_header"]


def test_rollback_to_a_missing_backup(tmp_path, fake):
    fake.on("config list", [entry("running", A), entry("backup-1", B)])
    rc, r = mod(tmp_path, fake, "config", check=True, state="rolled_back", backup=3)
    assert rc == 1 and r["msg"] == "no backup-3: the store holds 1 backups"
    fake.on("config rollback", {"rc": 1, "stderr": "resetctl: no backup-3: the store holds 1 backups\n"})
    rc, r = mod(tmp_path, fake, "config", state="rolled_back", backup=3)
    assert rc == 1 and r["rc"] == 1 and "no backup-3" in r["msg"]


# --- rescue ------------------------------------------------------------------

@pytest.mark.parametrize("state,store,command", [
    ("saved", {"running": A, "rescue": A}, None),
    ("saved", {"running": A, "rescue": B}, "rescue save"),
    ("saved", {"running": A}, "rescue save"),
    ("loaded", {"running": A, "rescue": A}, None),
    ("loaded", {"running": A, "rescue": B}, "rescue load"),
    ("absent", {"running": A}, None),
    ("absent", {"running": A, "rescue": B}, "rescue delete"),
])
def test_rescue_decisions(tmp_path, fake, state, store, command):
    fake.on("config list", [entry(n, s) for n, s in store.items()]).on("rescue", "")
    rc, r = mod(tmp_path, fake, "rescue", state=state)
    assert rc == 0 and r["changed"] is (command is not None), r
    expect = ["config list"] + ([command, "config list"] if command else [])
    assert fake.commands() == expect
    # check mode: the same decision from config list alone
    (fake.dir / "calls.jsonl").unlink()
    rc, r = mod(tmp_path, fake, "rescue", state=state, check=True)
    assert rc == 0 and r["changed"] is (command is not None)
    assert fake.commands() == ["config list"]


@pytest.mark.parametrize("state,missing", [("saved", "running"), ("loaded", "rescue")])
def test_rescue_without_a_source(tmp_path, fake, state, missing):
    fake.on("config list", [FACTORY] + ([entry("running", A)] if missing == "rescue" else []))
    rc, r = mod(tmp_path, fake, "rescue", state=state, check=True)
    assert rc == 1 and r["msg"] == f"there is no {missing} configuration to {state[:-1] if state == 'saved' else 'load'}"
    fake.on("rescue", {"rc": 1, "stderr": f"resetctl: no {missing} configuration\n"})
    rc, r = mod(tmp_path, fake, "rescue", state=state)
    assert rc == 1 and r["rc"] == 1 and r["msg"] == f"resetctl: no {missing} configuration"


def test_rescue_diff(tmp_path, fake):
    fake.on("config list", [entry("running", A), entry("rescue", B)])
    fake.on("config show", show({"run": 1}, A)).on("rescue show", show({"res": 1}, B, "rescue"))
    rc, r = mod(tmp_path, fake, "rescue", state="saved", check=True, diff=True)
    assert json.loads(r["diff"]["before"]) == {"res": 1} and json.loads(r["diff"]["after"]) == {"run": 1}
    rc, r = mod(tmp_path, fake, "rescue", state="loaded", check=True, diff=True)
    assert json.loads(r["diff"]["before"]) == {"run": 1} and json.loads(r["diff"]["after"]) == {"res": 1}
    rc, r = mod(tmp_path, fake, "rescue", state="absent", check=True, diff=True)
    assert json.loads(r["diff"]["before"]) == {"res": 1} and r["diff"]["after"] == ""


# --- factory_reset -----------------------------------------------------------

COMPLETE = {"factory_reset": "complete", "attempts": 1,
            "certificate": {"path": "/var/log/resetkit/sanitization.json", "result": "complete"}}
CERT = {"result": "complete", "signature": {"state": "none", "why": "no key"}}


def reset_calls(fake):
    return [c for c in fake.commands() if c.startswith("factory-reset")]


@pytest.mark.parametrize("state,status,command", [
    ("requested", "requested", None),
    ("requested", "none", "factory-reset --at-boot --yes --then none --trigger fleet"),
    ("requested", "complete", "factory-reset --at-boot --yes --then none --trigger fleet"),
    ("cancelled", "none", None),
    ("cancelled", "complete", None),
    ("cancelled", "requested", "factory-reset --cancel"),
])
def test_request_and_cancel_decisions(tmp_path, fake, state, status, command):
    fake.on("status", {"factory_reset": status}).on("config list", [FACTORY]).on("factory-reset", "")
    rc, r = mod(tmp_path, fake, "factory_reset", state=state)
    assert rc == 0 and r["changed"] is (command is not None), r
    assert reset_calls(fake) == ([command] if command else [])
    assert r["status"] == {"factory_reset": status} and r["sha256"] == {"factory": FACTORY["sha256"]}


def test_request_without_zeroize(tmp_path, fake):
    fake.on("status", {"factory_reset": "none"}).on("config list", [FACTORY]).on("factory-reset", "")
    rc, r = mod(tmp_path, fake, "factory_reset", state="requested", zeroize=False)
    assert reset_calls(fake) == ["factory-reset --at-boot --yes --then none --trigger fleet --no-zeroize"]


def test_a_refused_request_passes_resetctls_message_and_rc(tmp_path, fake):
    fake.on("status", {"factory_reset": "none"})
    fake.on("factory-reset", {"rc": 6, "stderr": "resetctl: --at-boot: nothing would carry the request out\n"})
    rc, r = mod(tmp_path, fake, "factory_reset", state="requested")
    assert rc == 1 and r["rc"] == 6 and r["changed"] is False
    assert r["msg"] == "resetctl: --at-boot: nothing would carry the request out"


def test_completed_is_unchanged_after_a_complete_reset(tmp_path, fake):
    fake.on("status", COMPLETE).on("config list", [FACTORY]).on("certificate", CERT)
    rc, r = mod(tmp_path, fake, "factory_reset")
    assert rc == 0 and r["changed"] is False and r["certificate"] == CERT and r["signature"] is None
    assert reset_calls(fake) == []


def test_completed_with_root_runs_at_once(tmp_path, fake):
    fake.on("status", {"factory_reset": "none"}, COMPLETE).on("config list", [FACTORY])
    fake.on("certificate", CERT).on("factory-reset", {"stdout": {"result": "done"}})
    rc, r = mod(tmp_path, fake, "factory_reset", zeroize=False, then="reboot")
    assert rc == 0 and r["changed"] is True and r["certificate"] == CERT and r["status"] == COMPLETE
    assert reset_calls(fake) == ["factory-reset --now --yes --json --then reboot --trigger fleet --no-zeroize"]


def test_force_resets_again(tmp_path, fake):
    fake.on("status", COMPLETE).on("config list", [FACTORY]).on("certificate", CERT).on("factory-reset", "")
    rc, r = mod(tmp_path, fake, "factory_reset", force=True)
    assert rc == 0 and r["changed"] is True
    assert reset_calls(fake) == ["factory-reset --now --yes --json --then none --trigger fleet"]


def test_a_reset_that_did_not_complete_fails_with_the_status(tmp_path, fake):
    failed = {"factory_reset": "failed", "failed": [{"entry": 3, "action": "remove", "path": "/x"}]}
    fake.on("status", {"factory_reset": "none"}, failed).on("config list", [FACTORY])
    fake.on("factory-reset", "")
    rc, r = mod(tmp_path, fake, "factory_reset")
    assert rc == 1 and "did not complete: status failed" in r["msg"] and r["status"] == failed


def test_a_failing_reset_is_a_failed_change(tmp_path, fake):
    fake.on("status", {"factory_reset": "none"}).on("factory-reset", {"rc": 1, "stderr": "resetctl: entry 3 failed\n"})
    rc, r = mod(tmp_path, fake, "factory_reset")
    assert rc == 1 and r["rc"] == 1 and r["changed"] is True and r["msg"] == "resetctl: entry 3 failed"


@pytest.mark.parametrize("state,status,changed,plan_cmd", [
    ("completed", "none", True, "factory-reset --now --dry-run --json"),
    ("completed", "complete", False, None),
    ("requested", "none", True, "factory-reset --at-boot --dry-run --json"),
    ("requested", "requested", False, None),
    ("cancelled", "requested", True, None),
])
def test_check_mode_returns_the_plan_and_runs_nothing(tmp_path, fake, state, status, changed, plan_cmd):
    plan = {"dry-run": True, "steps": [{"step": 3, "action": "remove"}]}
    fake.on("status", {"factory_reset": status}).on("config list", [FACTORY]).on("certificate", CERT)
    fake.on("factory-reset", plan)
    rc, r = mod(tmp_path, fake, "factory_reset", state=state, check=True)
    assert rc == 0 and r["changed"] is changed, r
    assert reset_calls(fake) == ([plan_cmd] if plan_cmd else [])
    if plan_cmd:
        assert r["plan"] == plan


def test_check_mode_without_root_plans_a_request(tmp_path, fake):
    fake.on("status", {"factory_reset": "none"}).on("config list", [FACTORY]).on("factory-reset", {})
    rc, r = mod(tmp_path, fake, "factory_reset", root=None, check=True, zeroize=False)
    assert rc == 0 and r["changed"] is True
    assert reset_calls(fake) == ["factory-reset --at-boot --dry-run --json --no-zeroize"]


def test_completed_without_root_needs_the_action_plugin(tmp_path, fake):
    fake.on("status", {"factory_reset": "none"})
    rc, r = mod(tmp_path, fake, "factory_reset", root=None)
    assert rc == 1 and "action plugin" in r["msg"]
    assert reset_calls(fake) == []


def test_verify_phase(tmp_path, fake):
    fake.on("status", COMPLETE, {"factory_reset": "failed", "failed": [{"entry": 2}]})
    fake.on("config list", [FACTORY]).on("certificate", CERT)
    rc, r = mod(tmp_path, fake, "factory_reset", root=None, _phase="verify")
    assert rc == 0 and r["certificate"] == CERT and r["status"] == COMPLETE
    rc, r = mod(tmp_path, fake, "factory_reset", root=None, _phase="verify")
    assert rc == 1 and r["status"]["failed"] == [{"entry": 2}] and "status failed" in r["msg"]
    assert reset_calls(fake) == []


def test_signed_certificate_returns_its_signature(tmp_path, fake):
    root = tmp_path / "root"
    (root / "var/log/resetkit").mkdir(parents=True)
    (root / "var/log/resetkit/sanitization.json.sig").write_bytes(b"\x00\x01sig")
    cert = {"result": "complete", "signature": {"state": "signed", "key": "/k", "file": "sanitization.json.sig"}}
    fake.on("status", COMPLETE).on("config list", [FACTORY]).on("certificate", cert)
    rc, r = mod(tmp_path, fake, "factory_reset")
    assert rc == 0 and r["signature"] == base64.b64encode(b"\x00\x01sig").decode()
    rc, r = mod(tmp_path, fake, "info")
    assert rc == 0 and r["signature"] == base64.b64encode(b"\x00\x01sig").decode() and r["certificate"] == cert


# --- info --------------------------------------------------------------------

def test_info_reads_everything_and_changes_nothing(tmp_path, fake):
    configs = [entry("running", A), entry("rescue", B), entry("backup-1", C), FACTORY]
    fake.on("config list", configs).on("status", {"factory_reset": "none"})
    fake.on("certificate", {"rc": 1, "stderr": "resetctl: no sanitization certificate\n"})
    rc, r = mod(tmp_path, fake, "info", check=True)
    assert rc == 0 and r["changed"] is False
    assert r["configurations"] == configs and r["certificate"] is None and r["signature"] is None
    assert r["sha256"] == {"running": A, "rescue": B, "backup-1": C, "factory": FACTORY["sha256"]}
    assert fake.commands() == ["config list", "status", "certificate"]


def test_info_lists_a_corrupt_store(tmp_path, fake):
    bad = dict(entry("running", A), status="CORRUPT")
    fake.on("config list", {"rc": 3, "stdout": [bad]}).on("status", {"factory_reset": "none"})
    fake.on("certificate", {"rc": 1})
    rc, r = mod(tmp_path, fake, "info")
    assert rc == 0 and r["configurations"] == [bad]


def test_a_refusal_without_json_fails_with_resetctls_message(tmp_path, fake):
    # exit 3 is a listing with a corrupt entry, or a refusal with nothing on
    # standard output: the latter is resetctl's message, not "not JSON"
    # (found by the fleet test's failing host)
    fake.on("status", {"factory_reset": "none"}).on("config list", {"rc": 3, "stderr": "resetctl: store: corrupt index\n"})
    rc, r = mod(tmp_path, fake, "info")
    assert rc == 1 and r["failed"] is True
    assert r["msg"] == "resetctl: store: corrupt index" and r["rc"] == 3
