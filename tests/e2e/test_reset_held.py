"""A live (--now) reset tells the truth about files it cannot reach
(SPEC §3 "When it runs"): a file removed by the manifest but still held open
by a running process keeps its blocks until the process exits, so the free
space fill never gets them.  The run names each such file with its process
in the log and the report, and the zeroing line says it is not covered."""
import json
import os

from rkreset import run, write
from rkzero import disks, hold, needs_loop  # noqa: F401

pytestmark = needs_loop

MANIFEST = "empty /var/log\nzero-free-space /\n"


def appliance(disks, tmp_path):
    dev = disks.loop(disks.image("root.img", 32))
    root = disks.mount(dev, tmp_path / "root")
    write(root, "etc/resetkit/resetd.conf", "")
    write(root, "usr/lib/resetkit/factory-reset.d/test.conf", MANIFEST)
    marker = f"RKMARK-held-{os.urandom(6).hex()}\n"
    write(root, "var/log/journal.log", marker * (1 << 16))
    write(root, "var/log/plain.log", "a log nobody holds")
    return root, marker


def test_now_names_deleted_files_held_open(disks, tmp_path):
    root, _ = appliance(disks, tmp_path)
    holder = hold(root / "var/log/journal.log")
    try:
        p = run(["factory-reset", "--yes", "--then", "none"], root=root, check=0)
    finally:
        holder.kill()
        holder.wait()
    log = p.stderr
    held = f"{root}/var/log/journal.log"
    assert f"not reached: {held}" in log, log
    assert f"held open by pid {holder.pid} (sh)" in log or f"held open by pid {holder.pid} (sleep)" in log, log
    assert "NOT covered: 1 deleted file still held open" in log, log
    assert not (root / "var/log/journal.log").exists()
    # ... and after the run, `status` says so too (the record keeps it)
    st = json.loads(run(["--json", "status"], root=root).stdout)
    assert st["factory_reset"] == "complete", st
    assert [(x["filesystem"], x["path"], x["pid"]) for x in st["not_reached"]] == \
        [("/", held, holder.pid)], st
    assert st["not_reached"][0]["bytes"] == len(f"RKMARK-held-{'0' * 12}\n") * (1 << 16)
    text = run(["status"], root=root).stdout
    assert f"NOT reached by zero-free-space /: {held}" in text, text


def test_plan_lists_what_the_fill_will_not_reach(disks, tmp_path):
    root, _ = appliance(disks, tmp_path)
    holder = hold(root / "var/log/journal.log")
    try:
        os.unlink(root / "var/log/journal.log")     # deleted already, still open
        p = run(["--json", "factory-reset", "--dry-run"], root=root, check=0)
    finally:
        holder.kill()
        holder.wait()
    plan = json.loads(p.stdout)
    step = next(s for s in plan["steps"] if s["action"] == "zero-free-space")
    assert [(x["path"], x["pid"]) for x in step["not-reached"]] == \
        [(f"{root}/var/log/journal.log", holder.pid)]
    assert step["not-reached"][0]["bytes"] == len(f"RKMARK-held-{'0' * 12}\n") * (1 << 16)


def test_nothing_held_nothing_said(disks, tmp_path):
    root, _ = appliance(disks, tmp_path)
    p = run(["factory-reset", "--yes", "--then", "none"], root=root, check=0)
    assert "not reached" not in p.stderr and "NOT covered" not in p.stderr, p.stderr
    st = json.loads(run(["--json", "status"], root=root).stdout)
    assert st["factory_reset"] == "complete" and st["not_reached"] == [], st
    assert "NOT reached" not in run(["status"], root=root).stdout


def test_held_files_survive_a_cut_after_the_fill(disks, tmp_path):
    """Killed after every entry (the journal saved, the reset not yet
    finished), resumed when the holder is gone: the completed reset still
    names what the fill missed."""
    root, _ = appliance(disks, tmp_path)
    holder = hold(root / "var/log/journal.log")
    try:
        p = run(["factory-reset", "--yes", "--then", "none"], root=root, check=None,
                env={"RESETKIT_FAULT": "engine:recorded"})
    finally:
        holder.kill()
        holder.wait()
    assert p.returncode != 0, p.stderr
    st = json.loads(run(["--json", "status"], root=root).stdout)
    assert st["factory_reset"] == "in-progress", st
    assert [x["pid"] for x in st["not_reached"]] == [holder.pid], st
    run(["factory-reset", "--resume"], root=root)
    st = json.loads(run(["--json", "status"], root=root).stdout)
    assert st["factory_reset"] == "complete", st
    assert [x["pid"] for x in st["not_reached"]] == [holder.pid], st
