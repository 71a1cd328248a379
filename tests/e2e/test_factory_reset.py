"""End-to-end tests of `resetctl factory-reset` on realistic SSR-like roots:
every effect and non-effect of SPEC §3 steps 1-5 and 8, bad input and
attacks.  Failures, retries and power loss: test_reset_failures.py."""
import fcntl
import json
import os
from pathlib import Path

import pytest

from rkreset import (FACTORY_ADMIN_HASH, FACTORY_ROOT_HASH, KEPT_FILES, RESETCTL, SECRET_FILES,
                     build_ssr_root, run, snapshot, write)

RESET = ["factory-reset", "--yes", "--no-zeroize", "--then", "none"]


@pytest.fixture
def root(tmp_path):
    r = build_ssr_root(tmp_path / "root")
    # a store with running, backups and rescue
    for i in range(3):
        cfg = tmp_path / f"c{i}.json"
        cfg.write_text(json.dumps({"secret-psk": f"customer-secret-{i}"}))
        run(["config", "commit", str(cfg)], root=r, check=0)
    run(["rescue", "save"], root=r, check=0)
    return r


def shadow(root):
    return {l.split(":")[0]: l.split(":") for l in (root / "etc/shadow").read_text().splitlines() if ":" in l}


def names(path):
    return [l.split(":")[0] for l in Path(path).read_text().splitlines() if l and not l.startswith("#")]


def test_dry_run_changes_nothing_and_shows_plan(root):
    before = snapshot(root)
    p = run(["factory-reset", "--dry-run", "--no-zeroize"], root=root, check=0)
    assert snapshot(root) == before
    assert "var/lib/128technology" in p.stdout or "/var/lib/128technology" in p.stdout
    assert "alice" in p.stdout and "bob" in p.stdout
    assert "big" not in p.stdout.split("UID >=")[1].splitlines()[0]
    j = json.loads(run(["--json", "factory-reset", "--dry-run", "--no-zeroize"], root=root, check=0).stdout)
    assert j["dry-run"] is True
    users = [s for s in j["steps"] if s["action"] == "delete-users"][0]["users"]
    assert sorted(users) == ["alice", "bob"]
    assert sum(s.get("files", 0) for s in j["steps"]) >= len(SECRET_FILES)
    assert snapshot(root) == before


def test_full_reset(root):
    p = run(RESET, root=root, check=0)
    for rel in SECRET_FILES:
        assert not (root / rel).exists(), f"{rel} survived the reset"
    for rel in KEPT_FILES:
        assert (root / rel).exists(), f"{rel} was removed"
    # rotated XML: the newest kept
    xml = sorted(x.name for x in (root / "etc/128technology").glob("factory-default-*.xml"))
    assert xml == ["factory-default-2.xml"]
    # accounts
    for f in ("passwd", "shadow", "group", "gshadow", "passwd-", "shadow-", "group-", "gshadow-"):
        text = (root / "etc" / f).read_text()
        assert "alice" not in text and "bob" not in text, f
        assert "SECRET" not in text
    assert "# a comment the editor must keep" in (root / "etc/passwd").read_text()
    assert "big" in names(root / "etc/passwd") and "nobody" in names(root / "etc/passwd")
    assert not (root / "home/alice").exists() and not (root / "var/mail/alice").exists()
    assert not (root / "var/spool/cron/crontabs/bob").exists()
    assert (root / "home/big/.profile").exists()
    assert "adm:x:4:admin" in (root / "etc/group").read_text()
    assert (root / "etc/subuid").read_text() == ""
    sh = shadow(root)
    assert sh["root"][1] == FACTORY_ROOT_HASH and sh["t128"][1] == FACTORY_ROOT_HASH
    assert sh["admin"][1] == FACTORY_ADMIN_HASH
    assert sh["root"][2] == "0", "password not expired"
    assert "rootoldhash" not in (root / "etc/shadow-").read_text()
    # store: factory running, no backups, no rescue
    show = run(["config", "show"], root=root, check=0).stdout
    assert "ssr-factory" in show and "customer-secret" not in show
    assert run(["rescue", "show"], root=root).returncode != 0
    lst = run(["--json", "config", "list"], root=root, check=0).stdout
    assert "customer-secret" not in lst
    store_bytes = b"".join(f.read_bytes() for f in (root / "var/lib/resetkit/config").rglob("*") if f.is_file())
    assert b"customer-secret" not in store_bytes
    # log moved, journal gone
    log = (root / "var/log/resetkit/factory-reset.log").read_text()
    assert "factory reset complete" in log and "delete-users" in log
    assert not (root / "tmp/factory-reset.log").exists()
    assert not (root / "var/lib/resetkit/factory-reset.journal").exists()
    assert run(["status"], root=root, check=0).stdout.startswith("factory reset: complete")
    # idempotent: a second reset on the result changes nothing but the log
    # and the record of the last reset (its times)
    skip = ("var/log/resetkit", "var/lib/resetkit/config", "var/lib/resetkit/factory-reset.status")
    before = snapshot(root, skip=skip)
    run(RESET, root=root, check=0)
    assert snapshot(root, skip=skip) == before


def test_expire_passwords_false(tmp_path):
    r = build_ssr_root(tmp_path / "root", config="[reset]\nexpire-passwords = false\n")
    run(RESET, root=r, check=0)
    assert shadow(r)["root"][2] != "0"


def test_keep_users(tmp_path):
    r = build_ssr_root(tmp_path / "root", config="[reset]\nkeep-users = bob\n")
    run(RESET, root=r, check=0)
    assert "bob" in names(r / "etc/passwd") and "alice" not in names(r / "etc/passwd")


def test_no_terminal_without_yes_refuses(root):
    before = snapshot(root)
    p = run(["factory-reset", "--no-zeroize"], root=root)
    assert p.returncode == 6
    assert "--yes" in p.stderr
    assert snapshot(root) == before


def test_confirmation_on_terminal(root):
    # a pseudo-terminal answering "no", then "yes"
    import pty
    before = snapshot(root)
    for answer, rc in ((b"no\n", 6), (b"yes\n", 0)):
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(str(RESETCTL), [str(RESETCTL), "--root", str(root), "factory-reset",
                                     "--no-zeroize", "--then", "none"])
        out = b""
        while b"Type 'yes'" not in out:
            out += os.read(fd, 4096)
        assert b"alice" in out  # the plan was shown before the question
        os.write(fd, answer)
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == rc
        if rc == 6:
            assert snapshot(root) == before, "not confirmed, but something changed"
    assert not (root / SECRET_FILES[0]).exists()


@pytest.mark.parametrize("line,needle", [
    ("frobnicate /x\n", "zz-test.conf:2"),
    ("remove\n", "zz-test.conf:2"),
    ("remove relative/path\n", "zz-test.conf:2"),
    ("keep-newest /var/log/* many\n", "zz-test.conf:2"),
    ("remove /var/../etc\n", "zz-test.conf:2"),
])
def test_malformed_manifest_changes_nothing(root, line, needle):
    write(root, "etc/resetkit/factory-reset.d/zz-test.conf", "# test\n" + line)
    before = snapshot(root)
    p = run(RESET, root=root)
    assert p.returncode == 2, p.stderr
    assert needle in p.stderr
    assert snapshot(root) == before


def test_root_missing(tmp_path):
    p = run(RESET, root=tmp_path / "nope")
    assert p.returncode != 0 and "nope" in p.stderr


def test_second_reset_while_one_runs(root):
    # the engine locks the root directory itself: a held lock is a reset running
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        before = snapshot(root)
        p = run(RESET, root=root)
        assert p.returncode == 4 and "another factory reset" in p.stderr
        assert snapshot(root) == before
    finally:
        os.close(fd)


def test_symlinks_never_followed_out_of_root(tmp_path):
    outside = tmp_path / "outside"
    write(outside, "victim.txt", "must survive")
    write(outside, "dir/inner.txt", "must survive")
    r = build_ssr_root(tmp_path / "root")
    # symlinks inside removed trees
    os.symlink(outside / "victim.txt", r / "var/log/128technology/link-to-file")
    os.symlink(outside / "dir", r / "var/log/128technology/link-to-dir")
    os.symlink("../../../../outside/dir", r / "var/lib/influxdb/relative-escape")
    # a symlink as a path component of an entry
    import shutil
    shutil.rmtree(r / "etc/128technology")
    os.symlink(outside / "dir", r / "etc/128technology")
    write(outside, "dir/global.init", "outside global.init must survive")
    before = snapshot(outside)
    run(RESET, root=r, check=0)
    assert snapshot(outside) == before
    assert not os.path.lexists(r / "var/log/128technology/link-to-file")
    assert not os.path.lexists(r / "var/lib/influxdb/relative-escape")


def test_exec_skipped_under_root(root, tmp_path):
    marker = tmp_path / "exec-ran"
    write(root, "etc/resetkit/factory-reset.d/zz-test.conf", f"exec - touch {marker}\n")
    run(RESET, root=root, check=0)
    assert not marker.exists()
    log = (root / "var/log/resetkit/factory-reset.log").read_text()
    assert "skipped" in log and str(marker) in log


def test_resume_without_journal_is_noop(root):
    before = snapshot(root)
    p = run(["factory-reset", "--resume"], root=root, check=0)
    assert "nothing to resume" in p.stderr
    assert snapshot(root) == before


def test_corrupt_journal_refuses(root):
    write(root, "var/lib/resetkit/factory-reset.journal", "{not json", 0o600)
    before = snapshot(root)
    p = run(["factory-reset", "--resume"], root=root)
    assert p.returncode == 1 and "corrupt journal" in p.stderr
    assert snapshot(root) == before


# Power loss at every fault point, failures at every operation, and the
# retries: tests/e2e/test_reset_failures.py.
