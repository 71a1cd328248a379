# SPDX-License-Identifier: GPL-2.0-or-later
"""A factory reset always finishes (SPEC §3): a failing entry does not stop
the ones after it, the next boot retries only what failed, at most three
attempts in all; the store cannot block it; the engine's own files survive
its own entries; nothing of a --root image's configuration runs here; a dry
run changes nothing.  Then two matrices over every fault-injection point a
full reset passes: fail each operation (EIO, ENOSPC, EACCES) and resume, and
kill the process at each point and resume.  Each matrix prints its size and
time to stderr (pytest -s) and appends it to $RESETKIT_MATRIX_SUMMARY
(meson: build/meson-logs/matrix-summary.txt)."""
import collections
import concurrent.futures
import errno
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rkfault
from rkreset import (FAULT_INJECTION, RESETCTL, SECRET_FILES, build_ssr_root, run, snapshot, write)

RESET = ["factory-reset", "--yes", "--no-zeroize", "--then", "none"]
RESUME = ["factory-reset", "--resume"]
JOURNAL = "var/lib/resetkit/factory-reset.journal"
STORE = "var/lib/resetkit/config"
FINAL_LOG = "var/log/resetkit/factory-reset.log"
VICTIM = "etc/128technology/global.init"
needs_faults = pytest.mark.skipif(not FAULT_INJECTION, reason="needs a -Dfault-injection=true build")


def with_store(root, tmp):
    """A store with running, backups and a rescue holding customer secrets."""
    for i in range(3):
        cfg = Path(tmp) / f"c{i}.json"
        cfg.write_text(json.dumps({"secret-psk": f"customer-secret-{i}"}))
        run(["config", "commit", str(cfg)], root=root, check=0)
    run(["rescue", "save"], root=root, check=0)
    return root


@pytest.fixture
def root(tmp_path):
    return with_store(build_ssr_root(tmp_path / "root"), tmp_path)


@pytest.fixture
def immutable(tmp_path):
    """chattr +i: even root cannot unlink the file, so its entry fails."""
    made = []

    def set_(p, on=True):
        subprocess.run(["chattr", "+i" if on else "-i", str(p)], check=True)
        if on:
            made.append(p)
    if os.geteuid() != 0 or not shutil.which("chattr"):
        pytest.skip("needs root and chattr")
    yield set_
    for p in made:
        subprocess.run(["chattr", "-i", str(p)], check=False)


def status(root):
    p = run(["status", "--json"], root=root, check=0)
    return json.loads(p.stdout)


def journal(root):
    return json.loads((Path(root) / JOURNAL).read_text())


def entries_run(log_text):
    """(action, path) of every entry an attempt's log says it started."""
    return [m for m in re.findall(r"entry \d+/\d+: ([a-z-]+) (\S+)", log_text) if m[0] != "done"]


# ---- 1. a failing entry does not stop the reset -----------------------------

def test_failed_entry_does_not_stop_the_rest(root, immutable):
    immutable(root / VICTIM)
    p = run(RESET, root=root)
    assert p.returncode == 1, p.stderr
    assert "remove /etc/128technology/global.init" in p.stderr and "retries only these" in p.stderr
    # every other secret is gone, and the steps after the failure ran
    for rel in SECRET_FILES:
        assert (root / rel).exists() == (rel == VICTIM), rel
    assert "alice" not in (root / "etc/passwd").read_text()
    assert "ssr-factory" in run(["config", "show"], root=root, check=0).stdout
    j = journal(root)
    assert j["state"] == "failed" and j["attempts"] == 1
    assert [(j["entries"][i]["action"], j["entries"][i]["path"]) for i in j["failed"]] == \
        [("remove", "/etc/128technology/global.init")]
    st = status(root)
    assert st["factory_reset"] == "failed" and st["retries_left"] == 2 and st["attempts"] == 1
    assert [(f["action"], f["path"]) for f in st["failed"]] == [("remove", "/etc/128technology/global.init")]
    assert "ssr.conf" in st["failed"][0]["source"]
    text = run(["status"], root=root, check=0).stdout
    assert text.startswith("factory reset: failed") and "2 retries left" in text

    # the next boot retries only that entry
    immutable(root / VICTIM, False)
    p = run(RESUME, root=root)
    assert p.returncode == 0, p.stderr
    assert not (root / VICTIM).exists()
    log = (root / FINAL_LOG).read_text()
    first, second = log.split("factory reset resumed")
    assert "factory reset started" in first, "the first attempt's log is kept"
    assert "failed" in first
    assert entries_run(second) == [("remove", "/etc/128technology/global.init")]
    st = status(root)
    assert st["factory_reset"] == "complete" and st["attempts"] == 2 and st["finished"].endswith("Z")
    assert not (root / JOURNAL).exists()


def test_gives_up_after_three_attempts(root, immutable):
    immutable(root / VICTIM)
    assert run(RESET, root=root).returncode == 1
    for attempt in (2, 3):
        p = run(RESUME, root=root)
        assert p.returncode == 1, p.stderr
        assert entries_run(p.stderr) == [("remove", "/etc/128technology/global.init")]
        st = status(root)
        assert (st["attempts"], st["retries_left"]) == (attempt, 3 - attempt)
    assert "No retry is left" in p.stderr
    # the fourth boot: no retry, nothing changes, it says why
    before = snapshot(root)
    p = run(RESUME, root=root)
    assert p.returncode == 1
    assert "gave up after 3 attempts" in p.stderr and "/etc/128technology/global.init" in p.stderr
    assert snapshot(root) == before
    st = status(root)
    assert st["factory_reset"] == "failed" and st["retries_left"] == 0
    assert "no retry left" in run(["status"], root=root, check=0).stdout
    # an explicit reset after that is a fresh plan
    immutable(root / VICTIM, False)
    p = run(RESET, root=root)
    assert p.returncode == 0, p.stderr
    assert "starting a fresh plan" in p.stderr
    assert status(root)["factory_reset"] == "complete"
    assert status(root)["attempts"] == 1


def test_status_states(root):
    assert status(root) == {"factory_reset": "none"}
    assert run(["status"], root=root, check=0).stdout.startswith("factory reset: none")
    run(RESET, root=root, check=0)
    st = status(root)
    assert st["factory_reset"] == "complete" and st["attempts"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", st["finished"])
    assert "complete (finished" in run(["status"], root=root, check=0).stdout


@needs_faults
def test_status_in_progress_names_the_entry(root):
    p = run(RESET, root=root, env={"RESETKIT_FAULT": "engine:before-entry:3"})
    assert p.returncode == -9
    st = status(root)
    assert st["factory_reset"] == "in-progress" and st["running"] is False
    assert st["entry"]["entry"] == 3 and st["entry"]["action"] == "remove"
    assert "entry 3/" in run(["status"], root=root, check=0).stdout
    # a reset holds the lock on the root while it runs: status sees it
    import fcntl
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert status(root)["running"] is True
        assert "running now" in run(["status"], root=root, check=0).stdout
    finally:
        os.close(fd)
    assert status(root)["running"] is False


@needs_faults
def test_killed_attempts_count_too(root):
    """A crash at the same place at every boot must not loop forever."""
    for _ in range(3):
        p = run(RESUME if (root / JOURNAL).exists() else RESET, root=root,
                env={"RESETKIT_FAULT": "engine:before-entry:2"})
        assert p.returncode == -9
    assert journal(root)["attempts"] == 3
    assert status(root)["factory_reset"] == "failed"
    p = run(RESUME, root=root)
    assert p.returncode == 1 and "gave up" in p.stderr


# ---- 2. the store cannot block the reset ----------------------------------------

def damage_store(root, how):
    store = root / STORE
    idx = json.loads((store / "index.json").read_text())
    if how == "mode-0770":
        os.chmod(store, 0o770)
    elif how == "corrupt-index":
        (store / "index.json").write_text('{"format": 1, "running": {')
    elif how == "corrupt-object":
        obj = store / "objects" / (idx["running"]["sha256"] + ".json")
        obj.write_text(obj.read_text().replace("customer", "CUSTOMER"))
    elif how == "stray-copy":
        (store / "backup-of-running.json").write_text('{"secret-psk": "customer-secret-stray"}')
    elif how == "symlink":
        shutil.move(store, root / "var/lib/elsewhere")
        os.symlink("../elsewhere", store)


@pytest.mark.parametrize("how", ["mode-0770", "corrupt-index", "corrupt-object", "stray-copy", "symlink"])
def test_unsafe_or_corrupt_store_is_replaced(root, how):
    damage_store(root, how)
    plan = json.loads(run(["--json", "factory-reset", "--dry-run", "--no-zeroize"], root=root, check=0).stdout)
    step = [s for s in plan["steps"] if s["action"] == "factory-config"][0]
    assert step["store-state"] == ("ok" if how == "stray-copy" else
                                   "unsafe" if how in ("mode-0770", "symlink") else "corrupt")
    p = run(RESET, root=root)
    assert p.returncode == 0, p.stderr
    store = root / STORE
    assert not store.is_symlink() and (store.stat().st_mode & 0o777) == 0o700
    assert "ssr-factory" in run(["config", "show"], root=root, check=0).stdout
    assert run(["config", "list"], root=root).returncode == 0
    assert run(["rescue", "show"], root=root).returncode != 0
    for f in (root / "var/lib/resetkit").rglob("*"):
        if f.is_file() and not f.is_symlink():
            assert b"customer-secret" not in f.read_bytes(), f
    assert sorted(p.name for p in (root / "var/lib/resetkit").iterdir()) == \
        ["config", "factory-reset.status"]
    if how == "symlink":
        # the removal never followed the link: what it pointed to is left alone
        assert (root / "var/lib/elsewhere/index.json").exists()


@pytest.mark.parametrize("content,why", [
    ('{"hostname": ', "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    (None, "No such file"),
])
def test_factory_config_verified_in_preflight(root, content, why):
    f = root / "usr/lib/resetkit/factory-config.json"
    if content is None:
        f.unlink()
    else:
        f.write_text(content)
    before = snapshot(root)
    p = run(RESET, root=root)
    assert p.returncode == 6 and why in p.stderr, p.stderr
    assert snapshot(root) == before


def test_factory_config_checksum(root):
    f = root / "usr/lib/resetkit/factory-config.json"
    import hashlib
    good = hashlib.sha256(f.read_bytes()).hexdigest()
    (root / "usr/lib/resetkit/factory-config.json.sha256").write_text("0" * 64 + "  factory-config.json\n")
    before = snapshot(root)
    p = run(RESET, root=root)
    assert p.returncode == 6 and "factory-config.json.sha256" in p.stderr
    assert snapshot(root) == before
    (root / "usr/lib/resetkit/factory-config.json.sha256").write_text(good + "  factory-config.json\n")
    run(RESET, root=root, check=0)


# ---- 3. the engine's own files -----------------------------------------------

@pytest.mark.parametrize("line", [
    "remove /var/lib/resetkit/*",
    "remove /var/lib/resetkit/factory-reset.journal",
    "remove /var/lib/resetkit",
    "remove /var/lib/*",
    "empty /var/lib/resetkit",
    "keep-newest /var/lib/resetkit/*.journal 1",
    "remove /var/log/resetkit/*",
    "remove /var/log/*",
    "remove /tmp/factory-reset.log",
    "remove /var",
])
def test_entry_that_would_remove_own_files_refused(root, line):
    write(root, "etc/resetkit/factory-reset.d/admin.conf", "# the administrator's drop-in\n" + line + "\n")
    before = snapshot(root)
    p = run(RESET, root=root)
    assert p.returncode == 6, p.stderr
    assert "admin.conf:2" in p.stderr and "refused" in p.stderr
    assert snapshot(root) == before


@needs_faults
def test_sweep_around_own_files_keeps_the_journal(root):
    """`empty /var/lib` passes preflight with a warning; a kill right after
    it still finds the journal, and the resume finishes."""
    write(root, "etc/resetkit/factory-reset.d/admin.conf", "empty /var/lib\n")
    plan = json.loads(run(["--json", "factory-reset", "--dry-run", "--no-zeroize"], root=root, check=0).stdout)
    k = [i for i, s in enumerate(plan["steps"]) if "admin.conf" in s["source"]][0]
    assert "keeps" in plan["steps"][k]["warning"]
    p = run(RESET, root=root, env={"RESETKIT_FAULT": f"engine:journaled:{k + 1}"})
    assert p.returncode == -9
    assert (root / JOURNAL).exists()
    p = run(RESUME, root=root)
    assert p.returncode == 0, p.stderr
    assert status(root)["factory_reset"] == "complete"
    assert not (root / "var/lib/128technology").exists()
    assert "ssr-factory" in run(["config", "show"], root=root, check=0).stdout


# ---- 4. nothing of a --root image's configuration runs here ------------------

def marker_config(tmp_path):
    tag = os.urandom(4).hex()
    m = {k: tmp_path / f"marker-{k}-{tag}" for k in ("reboot", "poweroff", "validate", "apply", "exec")}
    conf = "[actions]\n" + "".join(f"{k}-command = touch {m[k]}\n" for k in ("reboot", "poweroff", "validate", "apply"))
    return m, conf


@pytest.mark.parametrize("then", ["reboot", "poweroff"])
def test_root_commands_never_run(tmp_path, then):
    m, conf = marker_config(tmp_path)
    r = build_ssr_root(tmp_path / "root", config=conf)
    write(r, "etc/resetkit/factory-reset.d/zz-exec.conf", f"exec - touch {m['exec']}\n")
    cfg = tmp_path / "c.json"
    for i in range(2):
        cfg.write_text(json.dumps({"n": i}))
        p = run(["config", "commit", str(cfg)], root=r, check=0)
        assert "validate-command" in p.stderr and "skipped" in p.stderr
    run(["rescue", "save"], root=r, check=0)
    run(["config", "rollback", "1"], root=r, check=0)
    p = run(["rescue", "load"], root=r, check=0)
    assert "apply-command" in p.stderr and "skipped" in p.stderr
    p = run(["factory-reset", "--yes", "--no-zeroize", "--then", then], root=r, check=0)
    assert f"{then}: skipped" in p.stderr
    assert [k for k, f in m.items() if f.exists()] == []


def test_operator_config_commands_run(tmp_path):
    """--config FILE is the operator's own: its commands do run."""
    m, conf = marker_config(tmp_path)
    r = build_ssr_root(tmp_path / "root")
    (tmp_path / "operator.conf").write_text(conf)
    cfg = tmp_path / "c.json"
    cfg.write_text("{}")
    run(["--config", str(tmp_path / "operator.conf"), "config", "commit", str(cfg)], root=r, check=0)
    run(["--config", str(tmp_path / "operator.conf"), "factory-reset", "--yes", "--no-zeroize", "--then", "reboot"],
        root=r, check=0)
    assert [k for k, f in m.items() if f.exists()] == ["reboot", "validate", "apply"]


# ---- 5. a dry run changes nothing at all ------------------------------------------

def plant_stale_temporaries(root):
    write(root, "var/lib/resetkit/.#rk-factory-reset.journal.0badc0de", "a running reset's next journal", 0o600)
    write(root, f"{STORE}/.#rk-index.json.12345678", "a writer's temporary", 0o600)
    write(root, f"{STORE}/objects/.#rk-x.json.0000abcd", "a writer's temporary", 0o600)


def test_dry_run_changes_nothing_even_stale_temporaries(root):
    plant_stale_temporaries(root)
    before = snapshot(root)
    run(["factory-reset", "--dry-run", "--no-zeroize"], root=root, check=0)
    run(["--json", "factory-reset", "--dry-run"], root=root)
    assert snapshot(root) == before


def test_dry_run_of_a_pending_reset_changes_nothing(root, immutable):
    immutable(root / VICTIM)
    assert run(RESET, root=root).returncode == 1
    plant_stale_temporaries(root)
    before = snapshot(root)
    p = run(["factory-reset", "--dry-run"], root=root, check=0)
    assert "global.init" in p.stdout and "retry" in p.stdout
    assert snapshot(root) == before


def test_dry_run_beside_a_running_reset(root):
    """A reset holds the lock on the root directory: a dry run beside it
    neither waits nor touches what the reset is writing."""
    import fcntl
    plant_stale_temporaries(root)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        before = snapshot(root)
        run(["factory-reset", "--dry-run", "--no-zeroize"], root=root, check=0)
        assert snapshot(root) == before
    finally:
        os.close(fd)


# ---- 6. durability -------------------------------------------------------------

def test_created_directories_are_synced(tmp_path):
    """The journal's directory is new on a fresh system: its parent is
    fsync'd after each mkdir, or a power cut could lose the journal with
    its directory."""
    if not shutil.which("strace"):
        pytest.skip("needs strace")
    r = build_ssr_root(tmp_path / "root")
    trace = tmp_path / "strace"
    # LeakSanitizer cannot run under ptrace: without it, under strace
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
    p = subprocess.run(["strace", "-f", "-qq", "-y", "-e", "trace=mkdirat,mkdir,fsync", "-o", str(trace),
                        str(RESETCTL), "--root", str(r), *RESET], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    made, synced = [], []
    for line in trace.read_text().splitlines():
        mk = re.search(r'mkdirat\(\d+<([^>]*)>, "([^"]+)", \S+\) = 0', line)
        if mk:
            made.append((mk.group(1), mk.group(2), len(synced)))
        fs = re.search(r"fsync\(\d+<([^>]*)>\) = 0", line)
        if fs:
            synced.append(fs.group(1))
    assert any(n == "resetkit" for _, n, _ in made), made
    for parent, name, at in made:
        assert parent in synced[at:], f"{parent}/{name} created, its parent never synced"


# ---- 7. the matrices -------------------------------------------------------------
#
# Every case is a full reset, zeroing included, of its own SSR-like root: a
# tmpfs of a few MiB mounted by the test (the root is a mount point, so
# `zero-free-space /` fills only it), with image files as the A/B slots.
# A reset fsyncs some 300 times: about 1 s on a disk, nothing on a tmpfs.

ZRESET = ["factory-reset", "--yes", "--then", "none"]
# The index carries commit times, the log and the record timestamps: the
# store is compared through `config show`, the rest byte for byte; the
# configuration names each case's own slot images.
SKIP = ("var/log/resetkit", STORE, "var/lib/resetkit/factory-reset.status", "tmp", "etc/resetkit/resetd.conf")
ADMIN_SWEEP = ("# an administrator's sweeps around the engine's own files\n"
               "empty /var/lib\nempty /var/log\nremove /var/lib/resetkit/config.*\n")
WORKERS = max(1, min(2, os.cpu_count() or 1))
KILL_CAP = 120          # occurrences of one kill point beyond this (zero:verify passes 1000 times): spread over it
EIO_CAP = 150           # the same for the EIO failures


def mount_tmpfs(where, size):
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "rk-matrix", str(where)], check=True)


@pytest.fixture
def fast(tmp_path):
    if os.geteuid() != 0 or not os.path.exists("/proc/self/mountinfo"):
        pytest.skip("needs root for tmpfs mounts")
    d = tmp_path / "tmpfs"
    d.mkdir()
    mount_tmpfs(d, "512m")
    try:
        yield d
    finally:
        # lazily: detaches the cases' own mounts below it too
        subprocess.run(["umount", "-l", str(d)], check=False)


def make_base(where, admin=None):
    base = with_store(build_ssr_root(where), where.parent)
    if admin:
        write(base, "etc/resetkit/factory-reset.d/admin.conf", admin)
    return base


class Case:
    """One root: a fresh tmpfs holding a copy of the base tree, and slot
    images beside it (outside the root, as the running system sees them)."""

    def __init__(self, fast, base, name):
        self.dir = fast / name
        self.root = self.dir / "root"
        self.root.mkdir(parents=True)
        mount_tmpfs(self.root, "6m")
        subprocess.run(["cp", "-a", f"{base}/.", str(self.root)], check=True)
        slots = []
        for n in ("a", "b"):
            img = self.dir / f"{n}.img"
            with open(img, "wb") as f:
                f.truncate(256 << 10)
            slots.append(img)
        write(self.root, "etc/resetkit/resetd.conf",
              f"[slots]\na = {slots[0]}\nb = {slots[1]}\nactive = a\n[reset]\nverify = sample\n")

    def __enter__(self):
        return self.root

    def __exit__(self, *exc):
        subprocess.run(["umount", str(self.root)], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def final_state(root):
    return (snapshot(root, skip=SKIP),
            run(["config", "show"], root=root).stdout,
            run(["rescue", "show"], root=root).returncode)


def traced(fast, base):
    trace = fast / "trace"
    with Case(fast, base, "traced") as r:
        pristine = snapshot(r, skip=SKIP)
        p = run(ZRESET, root=r, env={"RESETKIT_FAULT_TRACE": str(trace)})
        assert p.returncode == 0, p.stderr[-2000:]
        want = final_state(r)
    return rkfault.trace_counts(trace), want, pristine


def matrix(cases, one, what):
    t0 = time.monotonic()
    failures = []
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        for got in pool.map(one, cases):
            if got:
                failures.append(got)
    took = time.monotonic() - t0
    line = f"{what}: {len(cases)} cases in {took:.1f} s ({WORKERS} at a time), {len(failures)} failed"
    print(f"\n{line}", file=sys.stderr)
    with open(os.environ.get("RESETKIT_MATRIX_SUMMARY", "/dev/null"), "a") as f:
        f.write(line + "\n")
    return failures


def resume_until_done(r, limit=3):
    """The next boots: --resume while one is pending, at most `limit`."""
    for n in range(limit + 1):
        st = status(r)
        if st["factory_reset"] in ("none", "complete") or st.get("retries_left", 1) == 0:
            return st, n
        p = run(RESUME, root=r)
        if p.returncode not in (0, 1):
            return {"factory_reset": f"resume rc {p.returncode}: {p.stderr[-300:]}"}, n
    return status(r), limit + 1


def differs(got, want):
    keys = sorted(k for k in set(got[0]) | set(want[0]) if got[0].get(k) != want[0].get(k))
    return f"{keys[:8]}{' and the store' if got[1:] != want[1:] else ''}"


@needs_faults
def test_fail_every_operation_then_resume(fast):
    """7a: each RK_FAIL point a full reset passes, at each occurrence (EIO;
    first and last for ENOSPC and EACCES; the first one failing for good for
    EIO '+'), then the next boots' --resume without the failure."""
    base = make_base(fast / "base")
    counts, want, _ = traced(fast, base)
    points = rkfault.fail_points(counts)
    assert {"journal:save", "fsutil:rename", "store:write-index", "engine:log-move"} <= set(points), points
    cases = []
    for name, n in sorted(points.items()):
        cases += [f"{name}:{k}=EIO" for k in rkfault.spread(n, EIO_CAP)]
        cases += [f"{name}:{k}={e}" for e in ("ENOSPC", "EACCES") for k in sorted({1, n})]
        cases.append(f"{name}:1+=EIO")
    print(f"\n7a: {len(points)} failure points, {sum(points.values())} occurrences: {dict(sorted(points.items()))}",
          file=sys.stderr)
    outcomes = collections.Counter()

    def one(case):
        with Case(fast, base, f"c-{abs(hash(case))}") as r:
            pristine = snapshot(r, skip=("tmp",))
            trace = r.parent / "trace"      # beside the root, not in it
            p = run(ZRESET, root=r, env={"RESETKIT_FAIL": case, "RESETKIT_FAULT_TRACE": str(trace)})
            if p.returncode not in (0, 1, 6):
                return f"{case}: rc {p.returncode}: {p.stderr[-300:]}"
            outcomes["first run failed" if p.returncode else "first run complete"] += 1
            # whatever the outcome, the failure is said (with its errno), never
            # swallowed -- but ENOSPC from a fill write is how a fill ends
            err = os.strerror(getattr(errno, case.rsplit("=", 1)[1]))
            fill_full = case.startswith("zero:write:") and case.endswith("=ENOSPC")
            if err not in p.stderr and not fill_full:
                name, k = case.split("=")[0].rsplit(":", 1)
                if (name.startswith("zero:") and k == str(points[name])
                        and rkfault.trace_counts(trace)[name] < points[name]):
                    # How often the zeroing reads and writes follows the
                    # fill's size, which the log's length moves by a page:
                    # the traced run's last passage may not come (CI: a
                    # 1000-read run where the trace had 1001).  Not a
                    # failure swallowed: one never injected.
                    outcomes["last zeroing passage not reached"] += 1
                    return None
                return f"{case}: the failure is not reported ({err!r} not in the output)"
            if p.returncode == 6 and "preflight failed; nothing changed" in p.stderr:
                # an operation of preflight itself failed (reading the
                # accounts, say): refused before the first change
                if snapshot(r, skip=("tmp",)) != pristine:
                    return f"{case}: refused in preflight, but the tree changed"
                outcomes["refused in preflight"] += 1
                run(ZRESET, root=r, check=0)
            elif p.returncode == 1 and "nothing changed" in p.stderr and not (r / JOURNAL).exists():
                # failed before the first change (no journal could be written):
                # the tree must be as it was, and the operator runs it again
                if snapshot(r, skip=("tmp",)) != pristine:
                    return f"{case}: 'nothing changed', but the tree changed"
                outcomes["nothing changed"] += 1
                run(ZRESET, root=r, check=0)
            st, resumes = resume_until_done(r)
            outcomes[f"{st['factory_reset']} after {resumes} resume(s)"] += 1
            if st["factory_reset"] not in ("complete", "failed"):
                return f"{case}: after {resumes} resumes: {st}"
            if st["factory_reset"] == "failed" and not st.get("failed"):
                return f"{case}: failed without the list: {st}"
            left = [s for s in SECRET_FILES if (r / s).exists()]
            if left:
                return f"{case}: secrets left: {left}"
            if st["factory_reset"] == "complete" and final_state(r) != want:
                return f"{case}: complete, but differs from an undisturbed reset: {differs(final_state(r), want)}"
            p = run(RESUME, root=r)
            if p.returncode != 0 or "nothing to resume" not in p.stderr:
                if st["factory_reset"] == "complete" or "gave up" not in p.stderr:
                    return f"{case}: another resume after the end: rc {p.returncode} {p.stderr[-200:]}"
            return None

    failures = matrix(cases, one, "7a fail-then-resume matrix")
    print(f"7a outcomes: {dict(outcomes)}", file=sys.stderr)
    assert outcomes["first run failed"] > 0 and outcomes["nothing changed"] > 0, outcomes
    assert not failures, f"{len(failures)} of {len(cases)}:\n" + "\n".join(failures[:40])


@needs_faults
def test_kill_at_every_point_then_resume(fast):
    """7b: killed at every occurrence of every RK_FAULT point of a full reset
    (spread over KILL_CAP of them where a point passes more often) whose
    administrator drop-in sweeps around the engine's own files, then
    --resume: the tree is fully reset or exactly as it was.  The drop-in
    that names them (`remove /var/lib/resetkit/*`) is refused before
    anything changes."""
    refused = make_base(fast / "refused", admin="remove /var/lib/resetkit/*\n")
    with Case(fast, refused, "refused-case") as r:
        before = snapshot(r)
        p = run(ZRESET, root=r)
        assert p.returncode == 6 and "admin.conf:1" in p.stderr, p.stderr
        assert snapshot(r) == before

    base = make_base(fast / "base", admin=ADMIN_SWEEP)
    counts, want, _ = traced(fast, base)
    kinds = rkfault.declared()
    assert not kinds["RK_FAULT"] & kinds["RK_FAIL"], "a name is both a kill and a failure point"
    points = rkfault.kill_points(counts)
    assert any(n.startswith("engine:") for n in points) and any(n.startswith("zero:") for n in points), points
    cases = [f"{name}:{k}" for name, n in sorted(points.items()) for k in rkfault.spread(n, KILL_CAP)]
    print(f"\n7b: {len(points)} kill points, {sum(points.values())} occurrences, {len(cases)} killed "
          f"(all of each point up to {KILL_CAP}): {dict(sorted(points.items()))}", file=sys.stderr)

    def one(case):
        with Case(fast, base, f"k-{abs(hash(case))}") as r:
            pristine = snapshot(r, skip=("tmp",))
            p = run(ZRESET, root=r, env={"RESETKIT_FAULT": case})
            if p.returncode != -9:
                return f"{case}: not killed (rc {p.returncode})"
            p = run(RESUME, root=r)     # the next boot
            if p.returncode != 0:
                return f"{case}: resume rc {p.returncode}: {p.stderr[-300:]}"
            if "nothing to resume" in p.stderr and snapshot(r, skip=("tmp",)) == pristine:
                return None     # killed before the journal: exactly as it was
            got = final_state(r)
            if got != want:
                return f"{case}: neither reset nor as it was: {differs(got, want)}"
            return None

    failures = matrix(cases, one, "7b kill-then-resume matrix")
    assert not failures, f"{len(failures)} of {len(cases)}:\n" + "\n".join(failures[:40])
