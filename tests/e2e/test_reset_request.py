"""A factory reset requested now, carried out at the next boot (SPEC §3
"When it runs"): --at-boot records a durable request and changes nothing
else; status says requested; --cancel withdraws it until it has started;
the carrier (--resume, as reset-failsafe does at boot) runs it."""
import json

from rkreset import SECRET_FILES, build_ssr_root, run, snapshot, write

JOURNAL = "var/lib/resetkit/factory-reset.journal"
REQUEST = ["factory-reset", "--yes", "--at-boot", "--no-zeroize", "--then", "none"]


def appliance(tmp_path, early_boot=True):
    r = build_ssr_root(tmp_path / "root")
    if early_boot:
        # the tree carries the initramfs-tools integration of reset-failsafe
        write(r, "usr/share/initramfs-tools/hooks/resetkit", "#!/bin/sh\n", 0o755)
    return r


def status(r):
    return json.loads(run(["--json", "status"], root=r, check=0).stdout)


def test_request_changes_nothing_but_the_request(tmp_path):
    r = appliance(tmp_path)
    before = snapshot(r)
    p = run(REQUEST, root=r, check=0)
    assert "it runs at the next boot" in p.stderr
    after = snapshot(r)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert {c for c in changed if not c.startswith("var/lib/resetkit")} == set(), changed
    assert (r / JOURNAL).exists()
    st = status(r)
    assert st["factory_reset"] == "requested" and st["trigger"] == "command line" and st["then"] == "reboot"
    for s in SECRET_FILES:
        assert (r / s).exists(), s


def test_cancel_then_request_again_then_carry_out(tmp_path):
    r = appliance(tmp_path)
    pristine = snapshot(r)
    run(REQUEST, root=r, check=0)
    p = run(["factory-reset", "--cancel"], root=r, check=0)
    assert "withdrawn" in p.stderr
    # as it was, but for the (empty) directory the request was recorded in
    assert snapshot(r, skip=("var/lib/resetkit",)) == pristine, "a withdrawn request leaves the tree as it was"
    assert list((r / "var/lib/resetkit").iterdir()) == []
    assert status(r)["factory_reset"] == "none"
    # nothing pending: cancelling again is no error
    p = run(["factory-reset", "--cancel"], root=r, check=0)
    assert "nothing to cancel" in p.stderr
    run(REQUEST, root=r, check=0)
    # a second request while one is pending changes nothing
    journal = (r / JOURNAL).read_bytes()
    p = run(REQUEST, root=r, check=0)
    assert "already requested" in p.stderr and (r / JOURNAL).read_bytes() == journal
    # the next boot carries it out
    run(["factory-reset", "--resume"], root=r, check=0)
    assert status(r)["factory_reset"] == "complete"
    for s in SECRET_FILES:
        assert not (r / s).exists(), s


def test_a_started_reset_cannot_be_cancelled(tmp_path):
    r = appliance(tmp_path)
    run(REQUEST, root=r, check=0)
    # cut off at its first entry: started, interrupted
    p = run(["factory-reset", "--resume"], root=r, env={"RESETKIT_FAULT": "engine:before-entry:2"})
    assert p.returncode == -9
    assert status(r)["factory_reset"] == "in-progress"
    p = run(["factory-reset", "--cancel"], root=r, check=6)
    assert "can no longer be cancelled" in p.stderr
    run(["factory-reset", "--resume"], root=r, check=0)
    assert status(r)["factory_reset"] == "complete"


def test_at_boot_without_an_early_boot_program_is_refused(tmp_path):
    r = appliance(tmp_path, early_boot=False)
    before = snapshot(r)
    p = run(REQUEST, root=r, check=6)
    assert "nothing would carry the request out" in p.stderr
    assert snapshot(r) == before


def test_root_defaults_to_now(tmp_path):
    r = appliance(tmp_path)
    run(["factory-reset", "--yes", "--no-zeroize", "--then", "none"], root=r, check=0)
    assert status(r)["factory_reset"] == "complete"


def test_corrupt_request_is_never_acted_on(tmp_path):
    r = appliance(tmp_path)
    run(REQUEST, root=r, check=0)
    text = (r / JOURNAL).read_text()
    (r / JOURNAL).write_text(text[: len(text) // 2])    # torn
    before = snapshot(r)
    p = run(["factory-reset", "--resume"], root=r, check=1)
    assert "refusing to guess" in p.stderr
    assert snapshot(r) == before
    p = run(["status"], root=r, check=1)
    assert "factory-reset.journal" in p.stdout + p.stderr
    # cancel does not delete what it cannot read either
    run(["factory-reset", "--cancel"], root=r, check=1)
    assert snapshot(r) == before


def test_at_boot_and_now_exclude_each_other(tmp_path):
    r = appliance(tmp_path)
    run(["factory-reset", "--at-boot", "--now"], root=r, check=2)
    run(["factory-reset", "--cancel", "--at-boot"], root=r, check=2)


def test_fleet_trigger_recorded_to_the_certificate(tmp_path):
    # a fleet manager says who asked: the request, the record and the
    # certificate name it; only "fleet" can be claimed from a command line
    r = appliance(tmp_path)
    before = snapshot(r)
    for bad in ("button", "fail-safe", "", "Fleet"):
        p = run(REQUEST + ["--trigger", bad], root=r, check=2)
        assert f"--trigger: expected fleet, got '{bad}'" in p.stderr
    assert snapshot(r) == before
    run(REQUEST + ["--trigger", "fleet"], root=r, check=0)
    assert status(r)["trigger"] == "fleet"
    run(["factory-reset", "--resume"], root=r, check=0)
    assert status(r)["factory_reset"] == "complete"
    cert = json.loads(run(["--json", "certificate"], root=r, check=0).stdout)
    assert cert["trigger"] == "fleet"
