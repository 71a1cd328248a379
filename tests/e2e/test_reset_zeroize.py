"""The whole factory reset with zeroization, through the real resetctl, on a
loop-mounted ext4 root: unique markers planted in files the manifest removes
(large and small, one deleted before the reset) and in the inactive slot's
image must be found nowhere in the raw images afterwards; a kill inside the
zeroing steps is finished by --resume with the same result."""
import os
import subprocess
from pathlib import Path

import pytest

from rkreset import FAULT_INJECTION, build_ssr_root, run
from rkzero import disks, fill_with, markers_in, needs_loop, plant_markers, reserve  # noqa: F401

pytestmark = needs_loop

GRUBENV = "# GRUB Environment Block\nsaved_entry=a\na_ok=1\nb_ok=1\nb_try=0\n"


def rig(disks, tmp_path, verify="full", block=None):
    img = disks.image("root.img", 64, block=block)
    dev = disks.loop(img)
    root = disks.mount(dev, tmp_path / "root")
    slot_b = disks.image("slot-b.img", 16, fs=False)
    b_markers = []
    with open(slot_b, "r+b") as f:
        for i in range(64):
            m = f"RKMARK-slot-b-{i}-{os.urandom(6).hex()}"
            f.seek(i * 256 * 1024 + 333)
            f.write(m.encode())
            b_markers.append(m)
    config = (f"[slots]\na = {img}\nb = {slot_b}\nactive = auto\n"
              "grubenv = /boot/grub/grubenv\na-grubenv-keys = a_ok\nb-grubenv-keys = b_ok b_try\n"
              f"[reset]\nverify = {verify}\n")
    build_ssr_root(root, config=config)
    (root / "boot/grub").mkdir(parents=True)
    (root / "boot/grub/grubenv").write_text(GRUBENV + "#" * (1024 - len(GRUBENV)))
    logs = root / "var/log/128technology"
    markers = plant_markers(logs, "log", n_small=30, large_mib=4)
    influx = root / "var/lib/influxdb/data"
    markers += plant_markers(influx, "influx", n_small=5, large_mib=2)
    # a secret the customer deleted long before the reset: only the free
    # space zeroing reaches it
    gone = f"RKMARK-deleted-before-{os.urandom(6).hex()}"
    (root / "home/alice/deleted.txt").write_text((gone + "\n") * 2000)
    os.sync()
    (root / "home/alice/deleted.txt").unlink()
    os.sync()
    markers.append(gone)
    return dict(img=img, dev=dev, root=root, slot_b=slot_b, markers=markers, b_markers=b_markers)


def check_result(disks, r):
    root = r["root"]
    env = (root / "boot/grub/grubenv").read_text()
    assert "a_ok=1" in env and "b_ok" not in env and "b_try" not in env
    assert len((root / "boot/grub/grubenv").read_bytes()) == 1024
    log = (root / "var/log/resetkit/factory-reset.log").read_text()
    # the whole log on failure (once, under ASan, neither step was named in
    # it: the next failure must tell why)
    assert "zero-partition" in log and "zero-free-space" in log, log.replace("\0", "<NUL>")
    assert "Clear" in log, "the log words the claim (NIST SP 800-88 Clear)"
    assert not list(root.glob(".resetkit-fill*"))
    disks.umount(root)
    disks.detach(r["dev"])
    assert markers_in(r["img"], r["markers"]) == []
    assert markers_in(r["slot_b"], r["b_markers"]) == []
    assert r["slot_b"].read_bytes().count(0) == r["slot_b"].stat().st_size
    # the filesystem is intact and its free space given back
    fsck = subprocess.run(["e2fsck", "-fn", str(r["img"])], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr


def test_reset_with_zeroize_leaves_no_marker(disks, tmp_path):
    r = rig(disks, tmp_path)
    plan = run(["--json", "factory-reset", "--dry-run"], root=r["root"], check=0).stdout
    assert '"zero-bytes"' in plan
    p = run(["factory-reset", "--yes", "--then", "none"], root=r["root"], check=0)
    assert "factory reset complete" in p.stderr
    check_result(disks, r)


def stale_rig(disks, tmp_path):
    """The rig on 4 KiB blocks (ext4 puts a directory in one block of its
    own) where every free block holds a secret the customer deleted, and a
    raw read of the device (blkid, a backup, fsck make them) left those
    blocks cached: uptodate pages of the device with deleted data."""
    r = rig(disks, tmp_path, block=4096)
    gone = f"RKMARK-stale-{os.urandom(6).hex()}"
    line = (gone + "\n").encode()
    fill_with(r["root"] / "gone.bin", r["dev"], line * (4096 // len(line)) + b"\n" * (4096 % len(line)))
    (r["root"] / "gone.bin").unlink()
    os.sync()
    with open(r["dev"], "rb") as f:
        while f.read(1 << 20):
            pass
    r["gone"] = gone
    r["markers"].append(gone)
    return r


def dir_blocks_hold(r, rel):
    """How many of r's markers the blocks of directory rel hold on the
    device (read past the page cache)."""
    out = subprocess.run(["debugfs", "-R", f"blocks /{rel}", str(r["dev"])], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out, f"{rel}: no blocks"
    n = 0
    for b in out:
        data = subprocess.run(["dd", f"if={r['dev']}", "bs=4096", f"skip={b}", "count=1", "iflag=direct",
                               "status=none"], capture_output=True, check=True).stdout
        n += sum(data.count(m.encode()) for m in r["markers"])
    return n


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs a -Dfault-injection=true build")
def test_new_directories_take_no_stale_bytes(disks, tmp_path):
    # ext4 zeroes a new directory block only when the kernel has no
    # uptodate copy of it: a cached page of the device lent its bytes (a
    # deleted secret) to the unused part of the reset's own directories,
    # blocks that stay in use where no free-space fill reaches.  (Before:
    # 147 markers in the journal's directory, killed right after it.)
    r = stale_rig(disks, tmp_path)
    p = run(["factory-reset", "--yes", "--then", "none"], root=r["root"],
            env={"RESETKIT_FAULT": "engine:journal-written"})
    assert p.returncode == -9, p.stderr[-800:]
    os.sync()
    assert dir_blocks_hold(r, "var/lib/resetkit") == 0
    # the store's directories come after the removals: blocks of what step
    # 3 removed are cached too
    p = run(["factory-reset", "--resume"], root=r["root"], env={"RESETKIT_FAULT": "zero:reserve-saved:1"})
    assert p.returncode == -9, p.stderr[-800:]
    os.sync()
    for d in ("var/lib/resetkit/config", "var/lib/resetkit/config/objects"):
        assert dir_blocks_hold(r, d) == 0, d
    p = run(["factory-reset", "--resume"], root=r["root"])
    assert p.returncode == 0, p.stderr[-2000:]
    check_result(disks, r)


def test_requested_reset_takes_no_stale_bytes(disks, tmp_path):
    # the request for the next boot writes the journal on the running
    # system: its directory must not keep a deleted secret either
    r = stale_rig(disks, tmp_path)
    hook = r["root"] / "usr/share/initramfs-tools/hooks/resetkit"    # the early-boot integration
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\n")
    hook.chmod(0o755)
    p = run(["factory-reset", "--at-boot", "--yes", "--then", "none"], root=r["root"])
    assert p.returncode == 0, p.stderr[-2000:]
    assert "runs at the next boot" in p.stderr, p.stderr
    os.sync()
    assert dir_blocks_hold(r, "var/lib/resetkit") == 0


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs a -Dfault-injection=true build")
@pytest.mark.parametrize("point,caveat", [
    ("zero:checkpoint", "the fill's extent-tree blocks were not written home before its release (Inappropriate ioctl "
                        "for device): those few blocks may keep old data"),
    ("zero:journal", "ext4's journal was not zeroed (Inappropriate ioctl for device): it may hold copies of old data"),
])
def test_what_the_fill_could_not_do_is_a_caveat(disks, tmp_path, point, caveat):
    # what the step could not do to the filesystem's own blocks (a kernel
    # before 5.13 has no EXT4_IOC_CHECKPOINT) is in the certificate, never
    # only in the log
    import json
    r = rig(disks, tmp_path)
    p = run(["factory-reset", "--yes", "--then", "none"], root=r["root"], env={"RESETKIT_FAIL": f"{point}=ENOTTY"})
    assert p.returncode == 0, p.stderr[-2000:]
    fs = [m for m in json.loads((r["root"] / "var/log/resetkit/sanitization.json").read_text())["media"]
          if m["kind"] == "filesystem"]
    assert len(fs) == 1
    assert caveat in fs[0]["caveats"], fs[0]["caveats"]
    assert sum("old data" in c for c in fs[0]["caveats"]) == 1, fs[0]["caveats"]


def test_zero_free_space_on_plain_directory_refused(disks, tmp_path):
    # --root on a plain directory must never fill the disk that holds it.
    # The directory lies inside a 16 MiB mount the test owns: were the
    # refusal ever lost, only that image could fill, never the host's disk.
    outer = disks.mount(disks.loop(disks.image("outer.img", 16)), tmp_path / "outer")
    root = build_ssr_root(outer / "root")
    p = run(["factory-reset", "--yes", "--then", "none"], root=root)
    assert p.returncode == 6, p.stderr
    assert "zero-free-space /: refused: not a mount point inside the root" in p.stderr, p.stderr
    assert "preflight failed; nothing changed" in p.stderr
    assert (root / "var/lib/128technology/t128-running.json").exists()


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs a -Dfault-injection=true build")
@pytest.mark.parametrize("point", ["engine:boot-metadata-removed:1", "zero:chunk-done:1", "zero:verify:1",
                                   "zero:reserve-saved:1", "zero:filled:1", "zero:release:1"])
def test_power_cut_during_zeroing_resumes(disks, tmp_path, point):
    r = rig(disks, tmp_path)
    p = run(["factory-reset", "--yes", "--then", "none"], root=r["root"], env={"RESETKIT_FAULT": point})
    assert p.returncode == -9, f"{point} not reached: {p.stderr[-800:]}"
    assert "in progress" in run(["status"], root=r["root"], check=0).stdout
    p = run(["factory-reset", "--resume"], root=r["root"])
    assert p.returncode == 0, p.stderr[-2000:]
    check_result(disks, r)


def test_no_slots_configured_skips_partition_step(disks, tmp_path):
    r = rig(disks, tmp_path)
    (r["root"] / "etc/resetkit/resetd.conf").write_text("[reset]\nverify = sample\n")
    import json
    plan = json.loads(run(["--json", "factory-reset", "--dry-run"], root=r["root"], check=0).stdout)
    part = [s for s in plan["steps"] if s["action"] == "zero-partition"][0]
    assert part["skipped"] == "no [slots] configured"
    # one slot without the other is a misconfiguration: refused
    (r["root"] / "etc/resetkit/resetd.conf").write_text(f"[slots]\nb = {r['slot_b']}\n")
    p = run(["factory-reset", "--dry-run"], root=r["root"])
    assert p.returncode == 6 and "a is not set" in p.stderr


def slot_all_zero(path):
    data = path.read_bytes()
    return data.count(0) == len(data)


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs a -Dfault-injection=true build")
@pytest.mark.parametrize("verify", ["full", "sample"])
def test_failed_verification_zeroes_slot_again(disks, tmp_path, verify):
    # Cut during the read-back, after the journal says the whole slot is
    # zeroed; then the slot holds data again (a write cache that lost the
    # zeros).  The resume's read-back fails, so the slot is zeroed again
    # from its start, never "verified" as it is.
    r = rig(disks, tmp_path, verify=verify)
    p = run(["factory-reset", "--yes", "--then", "none"], root=r["root"],
            env={"RESETKIT_FAULT": "zero:verify:1"})
    assert p.returncode == -9, p.stderr[-800:]
    secret = b"RKMARK-lost-write-" + os.urandom(6).hex().encode()
    size = r["slot_b"].stat().st_size
    r["slot_b"].write_bytes((secret * (size // len(secret) + 1))[:size])
    p = run(["factory-reset", "--resume"], root=r["root"])
    assert p.returncode == 0, p.stderr[-2000:]
    assert "read-back failed" in p.stderr and "zeroing it again from offset 0" in p.stderr, p.stderr[-2000:]
    assert slot_all_zero(r["slot_b"])
    log = (r["root"] / "var/log/resetkit/factory-reset.log").read_text()
    assert "re-zeroed 1 time from offset 0 after a failed read-back" in log
    check_result(disks, r)


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs a -Dfault-injection=true build")
def test_journaled_offset_of_another_slot_restarts_from_zero(disks, tmp_path):
    # The journal says the whole slot is zeroed, but after the "reboot" the
    # slot's path is another image (another inode): its offset must not be
    # trusted, the zeroing starts from 0 and the log says why.
    r = rig(disks, tmp_path)
    p = run(["factory-reset", "--yes", "--then", "none"], root=r["root"],
            env={"RESETKIT_FAULT": "zero:verify:1"})
    assert p.returncode == -9, p.stderr[-800:]
    size = r["slot_b"].stat().st_size
    other = r["slot_b"].with_name("other.img")
    other.write_bytes(b"RKMARK-other-slot-" * (size // 18) + b"x" * (size % 18))
    os.replace(other, r["slot_b"])
    p = run(["factory-reset", "--resume"], root=r["root"])
    assert p.returncode == 0, p.stderr[-2000:]
    assert f"the journaled offset {size} belongs to another target" in p.stderr, p.stderr[-2000:]
    assert f"({size} this run, from offset 0)" in p.stderr and "re-zeroed" not in p.stderr
    assert slot_all_zero(r["slot_b"])
    check_result(disks, r)


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs a -Dfault-injection=true build")
def test_reserve_restored_after_the_root_comes_back_on_another_loop_device(disks, tmp_path):
    # Cut right after the ext4 reserve was journaled; "reboot": the root
    # image comes back on another loop device (the old number is taken),
    # mounted at the same place.  The resume finds the filesystem by its
    # UUID and the sysfs name from the mount, not the journaled "loopN".
    r = rig(disks, tmp_path)
    orig = reserve(r["dev"])
    p = run(["factory-reset", "--yes", "--then", "none"], root=r["root"],
            env={"RESETKIT_FAULT": "zero:reserve-saved:1"})
    assert p.returncode == -9, p.stderr[-800:]
    disks.umount(r["root"])
    disks.detach(r["dev"])
    placeholder = disks.image("placeholder.img", 1, fs=False)
    new, _ = disks.reattach_elsewhere(r["img"], r["dev"], occupant=placeholder)
    r["dev"] = new
    disks.mount(new, r["root"])
    p = run(["factory-reset", "--resume"], root=r["root"])
    assert p.returncode == 0, p.stderr[-2000:]
    assert f"reserve {orig} restored on {os.path.basename(new)}" in p.stderr, p.stderr[-2000:]
    assert reserve(new) == orig
    check_result(disks, r)
