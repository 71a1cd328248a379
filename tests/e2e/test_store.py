# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end tests of `resetctl config …` and `resetctl rescue …`: the real
binary against --root trees in tmp_path.  Every bad input must leave the
store byte-for-byte as it was."""
import collections
import fcntl
import hashlib
import json
import os
import shutil
import threading
import time

import pytest

import rkfault
import rkstore
from rkstore import OK, FAILURE, USAGE, INTEGRITY, BUSY, APPLY, REFUSED, Tree, snapshot

A = b'{ "hostname": "a", "secret": "s3cret-a" }\n'
B = b'{ "hostname": "b" }\n'
C = b'{ "hostname": "c", "list": [1, 2, 3] }\n'


@pytest.fixture
def tree(tmp_path):
    return Tree(tmp_path / "root")


@pytest.fixture
def full(tmp_path):
    """A store with running C, backups B and A, rescue B."""
    t = Tree(tmp_path / "root")
    t.commit(A)
    t.commit(B)
    assert t.run("rescue", "save").returncode == OK
    t.commit(C)
    return t


def err(r):
    return r.stderr.decode()


def unchanged(t, *args, code, message, env=None):
    """Run, expect exit `code` and `message` in stderr, and no change at all."""
    before = snapshot(t.store)
    r = t.run(*args, env=env)
    assert r.returncode == code, err(r)
    assert message in err(r), err(r)
    assert snapshot(t.store) == before
    return r


# ---- normal operation --------------------------------------------------

def test_commit_show_list(tree):
    tree.commit(A)
    tree.commit(B)
    assert tree.show() == B
    r = tree.run("config", "list")
    assert r.returncode == OK, err(r)
    lines = r.stdout.decode().splitlines()
    assert lines[0].split()[:5] == ["NAME", "TIME", "SIZE", "SHA256", "STATUS"]
    rows = {l.split()[0]: l.split() for l in lines[1:]}
    assert rows["running"][3] == hashlib.sha256(B).hexdigest()
    assert rows["running"][2] == str(len(B))
    assert rows["running"][4] == "ok"
    assert rows["backup-1"][3] == hashlib.sha256(A).hexdigest()
    assert rows["factory"][3] == hashlib.sha256(rkstore.FACTORY).hexdigest()
    assert "rescue" not in rows


def test_json_output(tree):
    tree.commit(A)
    tree.commit(B)
    for args in (["--json", "config", "show"], ["config", "show", "--json"]):
        r = tree.run(*args)
        assert r.returncode == OK, err(r)
        o = json.loads(r.stdout)
        assert o["name"] == "running"
        assert o["config"] == json.loads(B)
        assert o["sha256"] == hashlib.sha256(B).hexdigest()
        assert o["size"] == len(B)
        assert o["time"].endswith("Z")
        assert o["origin"].startswith("commit ")
        with open(o["path"], "rb") as f:
            assert f.read() == B
    r = tree.run("config", "list", "--json")
    assert r.returncode == OK, err(r)
    rows = json.loads(r.stdout)
    assert [x["name"] for x in rows] == ["running", "backup-1", "factory"]
    assert all(x["status"] == "ok" for x in rows)
    assert tree.run("config", "show", "--yaml").returncode == USAGE


def test_modes_and_layout(tree):
    tree.commit(A)
    assert os.stat(tree.store).st_mode & 0o7777 == 0o700
    for dirpath, dirs, files in os.walk(tree.store):
        for d in dirs:
            assert os.stat(os.path.join(dirpath, d)).st_mode & 0o7777 == 0o700
        for f in files:
            assert os.stat(os.path.join(dirpath, f)).st_mode & 0o7777 == 0o600
    assert rkstore.objects(tree) == rkstore.referenced(tree)


def test_rotation_keeps_configured_backups(tmp_path):
    t = Tree(tmp_path / "root", backups=3)
    docs = [json.dumps({"n": i}).encode() for i in range(7)]
    for d in docs:
        t.commit(d)
    idx = t.index()
    assert len(idx["backups"]) == 3
    assert [b["sha256"] for b in idx["backups"]] == [hashlib.sha256(d).hexdigest() for d in docs[5:2:-1]]
    assert rkstore.objects(t) == rkstore.referenced(t)
    assert len(rkstore.objects(t)) == 4


def test_rollback(full):
    r = full.run("config", "rollback", "2")
    assert r.returncode == OK, err(r)
    assert full.show() == A
    idx = full.index()
    assert idx["running"]["origin"] == "rollback 2"
    assert [b["sha256"] for b in idx["backups"]] == [hashlib.sha256(x).hexdigest() for x in (C, B, A)]


def test_rescue_cycle(full):
    assert full.show("rescue") == B
    r = full.run("rescue", "load")
    assert r.returncode == OK, err(r)
    assert full.show() == B
    assert full.index()["running"]["origin"] == "rescue load"
    full.commit(A)
    r = full.run("rescue", "save")
    assert r.returncode == OK, err(r)
    assert full.show("rescue") == A
    r = full.run("rescue", "delete")
    assert r.returncode == OK, err(r)
    r = full.run("rescue", "show")
    assert r.returncode == FAILURE and "no rescue configuration" in err(r)
    assert full.run("rescue", "delete").returncode == OK     # idempotent
    assert rkstore.objects(full) == rkstore.referenced(full)


def test_commands(tree, tmp_path):
    seen = tmp_path / "seen"
    validate = tmp_path / "validate.sh"
    validate.write_text('#!/bin/sh\nset -e\ncp "$1" %s\ngrep -q hostname "$1"\n' % seen)
    validate.chmod(0o755)
    applied = tmp_path / "applied"
    tree.write_conf(actions={"validate-command": str(validate),
                             "apply-command": f"cp -- \"$1\" {applied}; echo applying"})
    r = tree.run("config", "commit", tree.file(A))
    assert r.returncode == OK, err(r)
    assert seen.read_bytes() == A       # the validator saw exactly the bytes committed
    assert applied.read_bytes() == A
    assert r.stdout == b""              # command output goes to the log, never to stdout
    assert "applying" in err(r)


def test_root_configuration_commands_skipped(tree, tmp_path):
    """--root names another tree: the commands of its own resetd.conf would
    run on this machine, so they are skipped, and the log says so."""
    marker = tmp_path / f"marker-{os.urandom(4).hex()}"
    with open(os.path.join(tree.root, "etc/resetkit/resetd.conf"), "w") as f:
        f.write(f"[actions]\nvalidate-command = touch {marker}.validate\napply-command = touch {marker}.apply\n")
    r = tree.run("config", "commit", tree.file(A))
    assert r.returncode == OK, err(r)
    assert "validate-command" in err(r) and "apply-command" in err(r) and "skipped" in err(r)
    for args in (("rescue", "save"), ("config", "commit", tree.file(B)), ("rescue", "load"),
                 ("config", "rollback", "1")):
        r = tree.run(*args)
        assert r.returncode == OK, err(r)
    assert list(tmp_path.glob(marker.name + "*")) == []
    assert tree.show() == B


def test_apply_failure_commit_stands(tree):
    tree.commit(A)
    tree.write_conf(actions={"apply-command": "echo cannot apply >&2; exit 9"})
    r = tree.run("config", "commit", tree.file(B))
    assert r.returncode == APPLY, err(r)
    assert "IS committed" in err(r) and "exit status 9" in err(r)
    assert tree.show() == B


def test_exactly_at_size_limit(tree):
    limit = 16 * 1024 * 1024
    head, tail = b'{"x": "', b'"}'
    doc = head + b"a" * (limit - len(head) - len(tail)) + tail
    assert len(doc) == limit
    tree.commit(doc)
    assert tree.show() == doc


def test_help_lists_verbs(tree):
    r = tree.run("--help")
    assert r.returncode == OK
    for v in ("config show", "config commit FILE", "config list", "config rollback N",
              "rescue save", "rescue show", "rescue delete", "rescue load"):
        assert v in r.stdout.decode()


# ---- bad input: each one leaves the store exactly as it was ------------

def test_not_json(full):
    f = full.file(b'{"a": 1,, }')
    unchanged(full, "config", "commit", f, code=INTEGRITY, message=f"{f}: not valid JSON at byte 8")


@pytest.mark.parametrize("content", [b"[1, 2]", b"{'a': 1}", b'{"a": NaN}', b'{"a": 1} {"b": 2}', b"\x00{}"])
def test_not_a_json_document(full, content):
    f = full.file(content)
    unchanged(full, "config", "commit", f, code=INTEGRITY, message=f)


def test_empty_file(full):
    f = full.file(b"")
    unchanged(full, "config", "commit", f, code=INTEGRITY, message=f"{f}: empty file")


def test_over_size_limit(full):
    f = full.file(b"")
    os.truncate(f, 16 * 1024 * 1024 + 1)
    unchanged(full, "config", "commit", f, code=INTEGRITY, message="larger than the limit")


def test_missing_file(full):
    f = os.path.join(full.files, "nope.json")
    unchanged(full, "config", "commit", f, code=FAILURE, message=f"{f}: cannot read: No such file")


def test_file_is_directory(full):
    unchanged(full, "config", "commit", full.files, code=FAILURE, message=f"{full.files}: is a directory")


def test_corrupt_running(full):
    p = full.flip_bit("running")
    unchanged(full, "config", "show", code=INTEGRITY, message=f"{p}: corrupt: SHA-256")
    unchanged(full, "rescue", "save", code=INTEGRITY, message=f"{p}: corrupt")
    r = unchanged(full, "config", "list", code=INTEGRITY, message=p)
    assert "CORRUPT" in r.stdout.decode()


def test_corrupt_rescue(full):
    p = full.flip_bit("rescue")
    unchanged(full, "rescue", "load", code=INTEGRITY, message=f"{p}: corrupt")
    unchanged(full, "rescue", "show", code=INTEGRITY, message=p)


def test_corrupt_backup(full):
    p = full.flip_bit("backup-2")
    unchanged(full, "config", "rollback", "2", code=INTEGRITY, message=f"{p}: corrupt")
    # the other backup is fine
    assert full.run("config", "rollback", "1").returncode == OK


def test_truncated_object(full):
    p = full.object_path("running")
    with open(p, "r+b") as f:
        f.truncate(5)
    unchanged(full, "config", "show", code=INTEGRITY, message=p)


def test_missing_object(full):
    p = full.object_path("running")
    os.unlink(p)
    unchanged(full, "config", "show", code=INTEGRITY, message=f"{p}: missing")
    unchanged(full, "rescue", "save", code=INTEGRITY, message=p)


def test_object_replaced_by_symlink(full, tmp_path):
    p = full.object_path("running")
    fake = tmp_path / "fake.json"
    fake.write_bytes(C)         # even the right bytes: a link is not what was stored
    os.unlink(p)
    os.symlink(fake, p)
    unchanged(full, "config", "show", code=INTEGRITY, message=f"{p}: corrupt: not a regular file (a symbolic link)")


def test_corrupt_index(full):
    idx = os.path.join(full.store, "index.json")
    with open(idx, "r+b") as f:
        f.seek(30)
        f.write(b"\x00garbage")
    for args in (["config", "show"], ["config", "list"], ["config", "commit", full.file(A)],
                 ["rescue", "save"], ["config", "rollback", "1"]):
        unchanged(full, *args, code=INTEGRITY, message=f"{idx}: corrupt")


def test_rescue_save_without_running(tree):
    unchanged(tree, "rescue", "save", code=FAILURE, message="no running configuration")
    assert not os.path.exists(tree.store)


def test_rollback_out_of_range(tmp_path):
    t = Tree(tmp_path / "root", backups=5)
    for i in range(7):
        t.commit(json.dumps({"n": i}))
    assert len(t.index()["backups"]) == 5
    unchanged(t, "config", "rollback", "9", code=FAILURE, message="no backup-9: the store holds 5 backups")
    unchanged(t, "config", "rollback", "6", code=FAILURE, message="no backup-6")
    for bad in ("0", "-1", "x", "1x"):
        unchanged(t, "config", "rollback", bad, code=USAGE, message="N must be a backup number")


def test_validate_command_fails(full, tmp_path):
    full.write_conf(actions={"validate-command": "grep -q '\"hostname\": \"ok\"'"})
    f = full.file(b'{"hostname": "bad"}')
    unchanged(full, "config", "commit", f, code=INTEGRITY, message="rejected by validate-command")
    # rollback and rescue load validate too
    unchanged(full, "config", "rollback", "1", code=INTEGRITY, message="rejected by validate-command")
    unchanged(full, "rescue", "load", code=INTEGRITY, message="rejected by validate-command")
    full.write_conf(actions={"validate-command": "/nonexistent/validator"})
    unchanged(full, "config", "commit", f, code=INTEGRITY, message="exit status 127")


def test_store_is_symlink(full, tmp_path):
    real = tmp_path / "real-store"
    shutil.move(full.store, real)
    os.symlink(real, full.store)
    before = snapshot(str(real))
    for args in (["config", "commit", full.file(A)], ["config", "show"], ["rescue", "save"]):
        unchanged(full, *args, code=REFUSED, message="symbolic link")
    assert snapshot(str(real)) == before


def test_store_parent_is_symlink(full, tmp_path):
    parent = os.path.dirname(full.store)
    shutil.move(parent, tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", parent)
    unchanged(full, "config", "commit", full.file(A), code=REFUSED, message="symbolic link")


@pytest.mark.parametrize("mode", [0o777, 0o720, 0o702])
def test_store_world_writable(full, mode):
    os.chmod(full.store, mode)
    for args in (["config", "commit", full.file(A)], ["config", "show"], ["rescue", "load"]):
        unchanged(full, *args, code=REFUSED, message="writable by group or others")


def test_store_foreign_owner(full):
    os.chown(full.store, 4242, 4242)
    unchanged(full, "config", "commit", full.file(A), code=REFUSED, message="owned by uid 4242")


# ---- two writers ---------------------------------------------------------

def hold_lock(t):
    fd = os.open(os.path.join(t.store, ".lock"), os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def release_lock(fd):
    os.ftruncate(fd, 0)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def test_second_writer_fails_clearly(full):
    fd = hold_lock(full)
    try:
        before = snapshot(full.store)
        t0 = time.monotonic()
        r = full.run("config", "commit", full.file(A), env={"RESETKIT_LOCK_TIMEOUT_MS": "400"})
        assert time.monotonic() - t0 >= 0.4
        assert r.returncode == BUSY, err(r)
        assert f"{full.store}/.lock: held by another writer (pid {os.getpid()})" in err(r)
        assert "the store is unchanged" in err(r)
        assert snapshot(full.store) == before
        # readers are not blocked by a writer
        assert full.show() == C
    finally:
        release_lock(fd)


def test_second_writer_waits(full):
    fd = hold_lock(full)
    threading.Timer(0.5, release_lock, [fd]).start()
    t0 = time.monotonic()
    r = full.run("config", "commit", full.file(A), env={"RESETKIT_LOCK_TIMEOUT_MS": "10000"})
    assert r.returncode == OK, err(r)
    assert time.monotonic() - t0 >= 0.45
    assert full.show() == A


def test_two_writers_at_once(full, tmp_path):
    # a slow validator keeps the first writer inside the lock
    full.write_conf(actions={"validate-command": "sleep 1; true"})
    fx, fy = full.file(b'{"x": 1}'), full.file(b'{"y": 1}')
    p = [full.popen("config", "commit", f) for f in (fx, fy)]
    rc = [q.wait(timeout=60) for q in p]
    assert rc == [OK, OK], [q.stderr.read() for q in p]
    idx = full.index()
    got = {idx["running"]["sha256"], idx["backups"][0]["sha256"]}
    assert got == {hashlib.sha256(b'{"x": 1}').hexdigest(), hashlib.sha256(b'{"y": 1}').hexdigest()}
    assert idx["backups"][1]["sha256"] == hashlib.sha256(C).hexdigest()

    # with a short wait, exactly one of them gets through
    env = {"RESETKIT_LOCK_TIMEOUT_MS": "200"}
    p = [full.popen("config", "commit", f, env=env) for f in (fx, fy)]
    rc = sorted(q.wait(timeout=60) for q in p)
    assert rc == [OK, BUSY]


# ---- crash safety ----------------------------------------------------------

def fault_points(t, args):
    """Every kill point a run of `args` passes, as NAME:N occurrences (the
    trace also names the failure points, RK_FAIL: rkfault tells them apart)."""
    trace = os.path.join(os.path.dirname(t.root), "trace")
    if os.path.exists(trace):
        os.unlink(trace)
    scratch = os.path.join(os.path.dirname(t.root), "scratch")
    shutil.copytree(t.root, scratch, symlinks=True)
    e = dict(os.environ, RESETKIT_FAULT_TRACE=trace)
    e.pop("RESETKIT_FAULT", None)
    import subprocess
    r = subprocess.run([rkstore.RESETCTL, "--root", scratch, *args], capture_output=True, env=e)
    assert r.returncode == OK, err(r)
    shutil.rmtree(scratch)
    kill = rkfault.declared()["RK_FAULT"]
    seen = collections.Counter()
    points = []
    with open(trace) as f:
        for name in f.read().split():
            if name not in kill:
                continue
            seen[name] += 1
            points.append(f"{name}:{seen[name]}")
    return points


def state(t, what):
    r = t.run(what, "show")
    return r.stdout if r.returncode == OK else None


CRASH_CASES = {
    "commit": (["config", "commit", "NEW"], "config", "NEW"),
    "rollback": (["config", "rollback", "2"], "config", A),
    "rescue-load": (["rescue", "load"], "config", B),
    "rescue-save": (["rescue", "save"], "rescue", C),
    "rescue-delete": (["rescue", "delete"], "rescue", None),
}


@pytest.mark.skipif(not rkstore.FAULT_INJECTION, reason="built without -Dfault-injection=true")
@pytest.mark.parametrize("case", CRASH_CASES)
def test_crash_at_every_point(tmp_path, case):
    args, what, new = CRASH_CASES[case]
    base = Tree(tmp_path / "base", backups=2)
    base.commit(A)
    base.commit(B)
    assert base.run("rescue", "save").returncode == OK
    base.commit(C)              # running C, backups B A (full: the next commit drops A), rescue B
    newfile = base.file(b'{ "hostname": "new" }\n', name="new.json")
    args = [newfile if a == "NEW" else a for a in args]
    if new == "NEW":
        new = b'{ "hostname": "new" }\n'
    old = state(base, what)

    points = fault_points(base, args)
    names = {p.rsplit(":", 1)[0] for p in points}
    assert {"atomic:renamed", "store:index-written", "store:gc-done"} <= names, points
    if case == "commit":
        assert "store:object-written" in names, points
    if case in ("commit", "rescue-load"):       # both drop backup A
        assert "store:object-removed" in names, points

    for i, point in enumerate(points):
        t = Tree.__new__(Tree)
        t.root = str(tmp_path / f"crash{i}")
        t.store = os.path.join(t.root, rkstore.STORE_REL)
        t.files = base.files
        t.config = None
        t.n = 100
        shutil.copytree(base.root, t.root, symlinks=True)
        r = t.run(*args, env={"RESETKIT_FAULT": point})
        assert r.returncode == -9, f"{point}: {r.returncode} {err(r)}"
        # old or new, intact — never a mix, never none
        got = state(t, what)
        assert got in (old, new), f"{point}: {got!r}"
        # the store is usable: list verifies every object, and the next
        # writer cleans up what the crash left
        r = t.run("config", "list")
        assert r.returncode == OK, f"{point}: {err(r)}"
        t.commit(b'{ "after": "crash" }')
        assert t.show() == b'{ "after": "crash" }'
        assert rkstore.objects(t) == rkstore.referenced(t), point
        leftovers = [n for n in os.listdir(t.store) if n.startswith(".#")]
        assert leftovers == [], point
        shutil.rmtree(t.root)


def test_factory_config_listed_missing(tree):
    os.unlink(os.path.join(tree.root, rkstore.FACTORY_REL))
    tree.commit(A)
    r = tree.run("config", "list")
    assert r.returncode == OK
    assert "missing" in r.stdout.decode().splitlines()[-1]
