# SPDX-License-Identifier: GPL-2.0-or-later
"""Zeroization (factory reset steps 6 and 7) through the rk-zero driver,
on loop devices and loop-mounted ext4 images of a few MiB: markers gone
from the raw images, every refusal of issue 4 item 6 with nothing changed,
resume after a kill, and the fill never left behind."""
import hashlib
import os
import re
import shutil

import pytest

from rkzero import (FAULT_INJECTION, RK_ZERO, fill_with, fs_uuid, markers_in, needs_loop, plant_markers, reserve,
                    run, set_reserve, write_config, disks)  # noqa: F401  (fixture)

pytestmark = needs_loop

REFUSED = 6


def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def rig(disks, tmp_path):
    """Root = slot a (ext4 image, loop-mounted); slot b = ext4 image with
    markers, unmounted and detached.  Returns a dict of paths."""
    a_img = disks.image("slot-a.img", 24)
    a_dev = disks.loop(a_img)
    root = disks.mount(a_dev, tmp_path / "root")
    b_img = disks.image("slot-b.img", 16)
    b_dev = disks.loop(b_img)
    bm = disks.mount(b_dev, tmp_path / "bmnt")
    markers = plant_markers(bm, "slotb")
    disks.umount(bm)
    disks.detach(b_dev)
    (root / "boot/grub").mkdir(parents=True)
    run("sh", "-c", f"printf '# GRUB Environment Block\\nsaved_entry=a\\na_ok=1\\nb_ok=1\\nb_try=0\\n' > {root}/boot/grub/grubenv"
        f" && head -c $((1024 - $(stat -c %s {root}/boot/grub/grubenv))) /dev/zero | tr '\\0' '#' >> {root}/boot/grub/grubenv")
    (root / "boot/vmlinuz-a").write_text("kernel a\n")
    (root / "boot/vmlinuz-b").write_text("kernel b\n")
    return dict(disks=disks, root=root, a_img=a_img, a_dev=a_dev, b_img=b_img, markers=markers,
                conf=tmp_path / "resetd.conf", tmp=tmp_path)


def conf(rig, a, b, active="auto", extra=""):
    return write_config(rig["conf"], f"[slots]\na = {a}\nb = {b}\nactive = {active}\n"
                        "grubenv = /boot/grub/grubenv\na-grubenv-keys = a_ok\nb-grubenv-keys = b_ok b_try\n"
                        "a-boot-files = /boot/vmlinuz-a\nb-boot-files = /boot/vmlinuz-b\n" + extra)


def zero(rig, *args, env=None):
    return run(RK_ZERO, *args, check=False, env=env)


def test_inactive_block_slot_zeroed_markers_gone(rig):
    b_dev = rig["disks"].loop(rig["b_img"])
    c = conf(rig, rig["a_dev"], b_dev)
    r = zero(rig, "inactive", rig["root"], c, "--verify", "full")
    assert r.returncode == 0, r.stderr
    assert "target slot b" in r.stdout and "auto: it backs the root" in r.stdout
    # BLKZEROOUT on every block device; whether the device did the work
    # (WRITE ZEROES) or the kernel wrote zero pages is what its queue says
    wz = int(open(f"/sys/block/{os.path.basename(b_dev)}/queue/write_zeroes_max_bytes").read())
    want = ("method BLKZEROOUT (the device's WRITE ZEROES)" if wz > 0 else
            "method BLKZEROOUT (the kernel writes zero pages: the device has no WRITE ZEROES)")
    assert want in r.stdout, r.stdout
    assert "NIST SP 800-88 Clear" in r.stdout and "all zero" in r.stdout
    assert "2 grubenv key(s), 1 file(s) removed" in r.stdout
    # the active slot stays bootable
    env = (rig["root"] / "boot/grub/grubenv").read_text()
    assert "a_ok=1" in env and "saved_entry=a" in env and "b_ok" not in env and "b_try" not in env
    assert (rig["root"] / "boot/vmlinuz-a").exists() and not (rig["root"] / "boot/vmlinuz-b").exists()
    rig["disks"].detach(b_dev)
    assert markers_in(rig["b_img"], rig["markers"]) == []


def test_inactive_image_slot_zeroed_markers_gone(rig):
    # slot a given as the image file behind the root's loop device: auto
    # must follow /sys/dev/block/M:m/loop/backing_file
    c = conf(rig, rig["a_img"], rig["b_img"])
    size = rig["b_img"].stat().st_size
    r = zero(rig, "inactive", rig["root"], c)
    assert r.returncode == 0, r.stderr
    assert "image file" in r.stdout and "auto: it backs the root" in r.stdout
    assert "sample: at least 10 % in at least 1000 places" in r.stdout
    assert rig["b_img"].stat().st_size == size      # never extended
    assert markers_in(rig["b_img"], rig["markers"]) == []
    assert run(RK_ZERO, "verify", rig["b_img"], "--verify", "full").returncode == 0


def test_refused_mounted_slot(rig, tmp_path):
    b_dev = rig["disks"].loop(rig["b_img"])
    rig["disks"].mount(b_dev, tmp_path / "bmounted")
    c = conf(rig, rig["a_dev"], b_dev)
    r = zero(rig, "inactive", rig["root"], c)
    assert r.returncode == REFUSED
    assert "is mounted on" in r.stderr and "nothing changed" in r.stderr
    assert "b_ok=1" in (rig["root"] / "boot/grub/grubenv").read_text()


def test_refused_image_slot_attached_to_loop(rig):
    rig["disks"].loop(rig["b_img"])
    before = sha(rig["b_img"])
    r = zero(rig, "inactive", rig["root"], conf(rig, rig["a_img"], rig["b_img"]))
    assert r.returncode == REFUSED
    assert "is attached to /dev/loop" in r.stderr
    assert sha(rig["b_img"]) == before


def test_refused_active_slot(rig):
    before = sha(rig["b_img"])
    r = zero(rig, "inactive", rig["root"], conf(rig, rig["a_img"], rig["b_img"]), "--slot", "a")
    assert r.returncode == REFUSED
    assert "is the active slot (it backs the root filesystem)" in r.stderr
    assert sha(rig["b_img"]) == before
    assert (rig["root"] / "boot/vmlinuz-a").exists()


def test_refused_slot_resolving_to_root_device(rig):
    # active = a by configuration, but b is the device under the root
    before = sha(rig["b_img"])
    r = zero(rig, "inactive", rig["root"], conf(rig, rig["b_img"], rig["a_dev"], active="a"))
    assert r.returncode == REFUSED
    assert "is the device under the root" in r.stderr
    assert sha(rig["b_img"]) == before
    assert "b_ok=1" in (rig["root"] / "boot/grub/grubenv").read_text()


def test_refused_partlabel_symlink_to_active(rig, tmp_path):
    link = tmp_path / "dev/disk/by-partlabel/root-b"
    link.parent.mkdir(parents=True)
    link.symlink_to(rig["a_dev"])
    r = zero(rig, "inactive", rig["root"], conf(rig, rig["a_dev"], link))
    assert r.returncode == REFUSED
    assert re.search(r"slot b \(.*root-b -> /dev/loop\d+\) is the same device as the active slot a \(/dev/loop\d+\)", r.stderr), r.stderr
    assert (rig["root"] / "boot/vmlinuz-b").exists()


def test_refused_missing_slot(rig):
    r = zero(rig, "inactive", rig["root"],
             conf(rig, rig["a_dev"], "/dev/disk/by-partlabel/resetkit-test-no-such-slot"))
    assert r.returncode == REFUSED
    assert "No such file or directory" in r.stderr and "nothing changed" in r.stderr
    assert "b_ok=1" in (rig["root"] / "boot/grub/grubenv").read_text()


def test_refused_free_space_not_a_mount_point(rig, tmp_path):
    # Every target lies inside the test's own 24 MiB mount: were a refusal
    # ever lost, the fill could only fill that image, never the host's disk.
    plain = rig["root"] / "plainroot"
    (plain / "data").mkdir(parents=True)
    for root, path in ((plain, "/"), (plain, "/data"), (rig["root"], "/boot")):
        r = zero(rig, "free-space", root, path)
        assert r.returncode == REFUSED, (root, path, r.stderr)
        assert f"zero-free-space {path}: refused: not a mount point inside the root" in r.stderr
        assert "nothing changed" in r.stderr
    assert not list(rig["root"].rglob(".resetkit-fill*"))


def test_refused_free_space_on_the_hosts_root_filesystem(rig, tmp_path):
    # The engine refuses the filesystem of the host's / under --root (it
    # passes that st_dev); rk-zero's --refuse-dev-of plays the host's /
    # with a mount the test owns, so nothing is ever aimed at the real /.
    inner = rig["disks"].mount(rig["disks"].loop(rig["disks"].image("inner.img", 8)), rig["root"] / "inner")
    r = zero(rig, "free-space", rig["root"], "/inner", "--refuse-dev-of", inner, "--verify", "none")
    assert r.returncode == REFUSED, r.stderr
    assert "zero-free-space /inner: refused: it is the host's root filesystem (device" in r.stderr
    assert "nothing changed" in r.stderr
    # the same mount without the refusal is zeroed: the rule, not the path, refused it
    r = zero(rig, "free-space", rig["root"], "/inner", "--verify", "none")
    assert r.returncode == 0, r.stderr


DEVICE_FILL = "BLKZEROOUT (the device's WRITE ZEROES) on the fill's blocks (fallocate, FIEMAP)"


@pytest.mark.parametrize("block", [1024, 4096])
def test_free_space_markers_gone(disks, tmp_path, block):
    # 1 KiB blocks: zeros written through the filesystem; 4 KiB: the device
    # zeroes the fill's blocks and the read-back reads them on the device
    img = disks.image("fs.img", 48, block=block)
    dev = disks.loop(img)
    mnt = disks.mount(dev, tmp_path / "mnt")
    markers = plant_markers(mnt, "free", n_small=50, large_mib=8)
    for f in mnt.iterdir():
        if f.is_file():
            f.unlink()
    os.sync()
    keep = mnt / "kept.txt"
    keep.write_text("KEPT-CONTENT\n")
    name = os.path.basename(dev)
    res_before = open(f"/sys/fs/ext4/{name}/reserved_clusters").read()
    r = run(RK_ZERO, "free-space", mnt, "/", "--state", tmp_path / "state", "--verify", "full", check=False)
    assert r.returncode == 0, r.stderr
    assert "ext4 reserved_clusters of" in r.stdout and "restored" in r.stdout
    assert "all zero" in r.stdout and "ext4 keeps a few clusters that no file can take" in r.stdout
    if block == 4096:
        assert f"method {DEVICE_FILL}" in r.stdout, r.stdout
    else:
        assert "method O_DIRECT zero writes (not the device's zeroing: blocks smaller than a page)" in r.stdout, r.stdout
    assert open(f"/sys/fs/ext4/{name}/reserved_clusters").read() == res_before
    st = os.statvfs(mnt)
    assert st.f_bfree * st.f_frsize > 30 << 20     # released: the disk is not left full
    assert not [f for f in os.listdir(mnt) if f.startswith(".resetkit-fill.")]
    assert keep.read_text() == "KEPT-CONTENT\n"
    disks.umount(mnt)
    disks.detach(dev)
    assert markers_in(img, markers) == []
    assert b"KEPT-CONTENT" in img.read_bytes()


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_resume_after_kill(rig):
    state = rig["tmp"] / "journal"
    c = conf(rig, rig["a_img"], rig["b_img"])
    env = dict(os.environ, RESETKIT_FAULT="zero:chunk-done:3")
    r = zero(rig, "inactive", rig["root"], c, "--chunk", str(1 << 20), "--state", state, env=env)
    assert r.returncode == -9, r.stderr
    # two chunks journaled, killed after the third; with what they belong to
    assert state.read_text().startswith("offset 2097152\ntarget file fs=")
    # boot metadata went first
    assert "b_ok" not in (rig["root"] / "boot/grub/grubenv").read_text()
    assert markers_in(rig["b_img"], rig["markers"])     # not finished yet
    r = zero(rig, "inactive", rig["root"], c, "--chunk", str(1 << 20), "--state", state, "--verify", "full")
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout and "at offset 2097152" in r.stdout
    assert "from offset 2097152" in r.stdout
    assert markers_in(rig["b_img"], rig["markers"]) == []


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_fill_killed_releases_and_recovers(disks, tmp_path):
    img = disks.image("fs.img", 32)
    dev = disks.loop(img)
    mnt = disks.mount(dev, tmp_path / "mnt")
    name = os.path.basename(dev)
    orig = open(f"/sys/fs/ext4/{name}/reserved_clusters").read().strip()
    state = tmp_path / "journal"
    free0 = os.statvfs(mnt).f_bfree
    env = dict(os.environ, RESETKIT_FAULT="zero:fill:3")
    r = run(RK_ZERO, "free-space", mnt, "/", "--state", state, "--max-write", str(1 << 20), env=env, check=False)
    assert r.returncode == -9
    # the O_TMPFILE fill died with the process: no space is lost
    assert os.statvfs(mnt).f_bfree >= free0 - 16
    # the reserve was lowered, and journaled before that
    assert open(f"/sys/fs/ext4/{name}/reserved_clusters").read().strip() == "0"
    assert state.read_text() == f"reserve uuid:{fs_uuid(img)} {orig}\n"
    # a leftover named fill file (fallback path) is removed by the recovery
    (mnt / ".resetkit-fill.deadbeef").write_bytes(b"\0" * 4096)
    r = run(RK_ZERO, "recover", mnt, "/", "--state", state, check=False)
    assert r.returncode == 0, r.stderr
    assert "removed 1 leftover" in r.stdout
    assert open(f"/sys/fs/ext4/{name}/reserved_clusters").read().strip() == orig
    assert not (mnt / ".resetkit-fill.deadbeef").exists()


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_fill_resume_uses_journaled_reserve(disks, tmp_path):
    img = disks.image("fs.img", 32)
    dev = disks.loop(img)
    mnt = disks.mount(dev, tmp_path / "mnt")
    name = os.path.basename(dev)
    orig = open(f"/sys/fs/ext4/{name}/reserved_clusters").read().strip()
    state = tmp_path / "journal"
    env = dict(os.environ, RESETKIT_FAULT="zero:fill:2")
    r = run(RK_ZERO, "free-space", mnt, "/", "--state", state, "--max-write", str(1 << 20), env=env, check=False)
    assert r.returncode == -9
    # the resumed run must restore the journaled value, not the 0 it finds
    r = run(RK_ZERO, "free-space", mnt, "/", "--state", state, check=False)
    assert r.returncode == 0, r.stderr
    assert f"lowered from {orig} to 0" in r.stdout
    assert open(f"/sys/fs/ext4/{name}/reserved_clusters").read().strip() == orig


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_fill_einval_on_every_write_fails_bounded(disks, tmp_path):
    # A filesystem that refuses buffered writes as well as O_DIRECT ones
    # (EINVAL) must end the step with an error, not retry forever.
    img = disks.image("fs.img", 16)
    dev = disks.loop(img)
    mnt = disks.mount(dev, tmp_path / "mnt")
    name = os.path.basename(dev)
    orig = open(f"/sys/fs/ext4/{name}/reserved_clusters").read().strip()
    free0 = os.statvfs(mnt).f_bfree
    env = dict(os.environ, RESETKIT_FAIL="zero:write:1+=EINVAL")
    r = run(RK_ZERO, "free-space", mnt, "/", "--state", tmp_path / "state", env=env, check=False, timeout=60)
    assert r.returncode == 1, r.stderr
    assert "fill write failed at offset 0: Invalid argument" in r.stderr, r.stderr
    assert "the fill was released" in r.stderr
    assert open(f"/sys/fs/ext4/{name}/reserved_clusters").read().strip() == orig
    assert os.statvfs(mnt).f_bfree >= free0 - 16
    assert not [f for f in os.listdir(mnt) if f.startswith(".resetkit-fill.")]


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_device_einval_on_every_write_fails_bounded(tmp_path):
    img = tmp_path / "slot.img"
    img.write_bytes(b"\xa5" * (2 << 20))
    env = dict(os.environ, RESETKIT_FAIL="zero:write:1+=EINVAL")
    r = run(RK_ZERO, "device", img, env=env, check=False, timeout=60)
    assert r.returncode == 1, r.stderr
    assert "failed at offset 0: Invalid argument" in r.stderr, r.stderr
    assert img.read_bytes() == b"\xa5" * (2 << 20)


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_failed_read_back_zeroes_again_from_start(tmp_path):
    # killed during the read-back: the state says the whole image is zeroed;
    # then the data is back (lost writes).  The resume must not trust the
    # offset once the read-back fails: it zeroes again from 0.
    img = tmp_path / "slot.img"
    img.write_bytes(b"\xa5" * (4 << 20))
    state = tmp_path / "state"
    env = dict(os.environ, RESETKIT_FAULT="zero:verify:1")
    r = run(RK_ZERO, "device", img, "--state", state, "--verify", "full", env=env, check=False)
    assert r.returncode == -9, r.stderr
    assert state.read_text().startswith(f"offset {4 << 20}\n")
    img.write_bytes(b"\x5a" * (4 << 20))
    r = run(RK_ZERO, "device", img, "--state", state, "--verify", "full", check=False)
    assert r.returncode == 0, r.stderr
    assert "re-zeroed 1 time from offset 0 after a failed read-back (nonzero byte at offset 0)" in r.stdout
    assert "verified by O_DIRECT read-back" in r.stdout and "all zero" in r.stdout
    assert img.read_bytes().count(0) == 4 << 20


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_read_back_failing_for_good_is_bounded(tmp_path):
    # every read fails: at most 2 more passes, then an honest failure
    img = tmp_path / "slot.img"
    img.write_bytes(b"\xa5" * (1 << 20))
    env = dict(os.environ, RESETKIT_FAIL="zero:read:1+=EIO", RESETKIT_FAULT_TRACE=str(tmp_path / "trace"))
    r = run(RK_ZERO, "device", img, "--verify", "full", env=env, check=False, timeout=60)
    assert r.returncode == 1, r.stderr
    assert "read-back still failing after 2 more zero passes" in r.stderr, r.stderr
    assert "NOT verified: the read-back failed" in r.stdout, r.stdout
    assert "NIST SP 800-88 Clear" not in r.stdout and "No sanitization claim" in r.stdout
    trace = (tmp_path / "trace").read_text().split()
    assert trace.count("zero:read") == 3


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_offset_of_another_target_is_not_resumed(tmp_path):
    # The journaled offset belongs to the image it was zeroed on: after a
    # "reboot" the same path is another file (another inode), whose first
    # MiB was never zeroed.  The resume starts from 0 and says why.
    img = tmp_path / "slot.img"
    img.write_bytes(b"\xa5" * (4 << 20))
    state = tmp_path / "state"
    env = dict(os.environ, RESETKIT_FAULT="zero:chunk-done:2")
    r = run(RK_ZERO, "device", img, "--chunk", str(1 << 20), "--state", state, env=env, check=False)
    assert r.returncode == -9, r.stderr
    assert state.read_text().startswith(f"offset {1 << 20}\n")
    other = tmp_path / "other.img"
    other.write_bytes(b"\x5a" * (4 << 20))
    os.replace(other, img)
    r = run(RK_ZERO, "device", img, "--chunk", str(1 << 20), "--state", state, "--verify", "full", check=False)
    assert r.returncode == 0, r.stderr
    assert "the journaled offset 1048576 belongs to another target" in r.stdout, r.stdout
    assert "zeroing from offset 0" in r.stdout
    assert f"({4 << 20} this run, from offset 0)" in r.stdout and "re-zeroed" not in r.stdout
    assert img.read_bytes().count(0) == 4 << 20
    # the same target resumes where it stopped
    img.write_bytes(b"\xa5" * (4 << 20))
    state.unlink()
    r = run(RK_ZERO, "device", img, "--chunk", str(1 << 20), "--state", state, env=env, check=False)
    assert r.returncode == -9
    r = run(RK_ZERO, "device", img, "--chunk", str(1 << 20), "--state", state, "--verify", "none", check=False)
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout and f"({3 << 20} this run, from offset {1 << 20})" in r.stdout


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_reserve_recovered_by_uuid_on_another_loop_device(disks, tmp_path):
    # The journaled ext4 reserve belongs to a filesystem, not to "loop3":
    # after a reboot the same filesystem may be loop5, and loop3 another
    # ext4 whose reserve must not be touched.
    img = disks.image("fs.img", 32)
    dev = disks.loop(img)
    mnt = disks.mount(dev, tmp_path / "mnt")
    orig = reserve(dev)
    state = tmp_path / "journal"
    env = dict(os.environ, RESETKIT_FAULT="zero:fill:2")
    r = run(RK_ZERO, "free-space", mnt, "/", "--state", state, "--max-write", str(1 << 20), env=env, check=False)
    assert r.returncode == -9
    assert reserve(dev) == "0"
    assert state.read_text() == f"reserve uuid:{fs_uuid(img)} {orig}\n"
    disks.umount(mnt)
    disks.detach(dev)
    other = disks.image("other.img", 8)
    dev2, occ = disks.reattach_elsewhere(img, dev, occupant=other)
    if occ:
        disks.mount(occ, tmp_path / "other")
        other_orig = reserve(occ)
    mnt = disks.mount(dev2, tmp_path / "mnt")
    set_reserve(dev2, 0)        # still lowered, as after a crash without a reboot
    r = run(RK_ZERO, "recover", mnt, "/", "--state", state, check=False)
    assert r.returncode == 0, r.stderr
    assert f"reserve {orig} restored on {os.path.basename(dev2)}" in r.stdout, r.stdout
    assert reserve(dev2) == orig
    if occ:
        assert reserve(occ) == other_orig


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_reserve_of_another_filesystem_is_not_written(disks, tmp_path):
    # the journal names filesystem X; the mount point now holds Y: Y's
    # reserve is left alone, and the run says so
    img = disks.image("fs.img", 16)
    dev = disks.loop(img)
    mnt = disks.mount(dev, tmp_path / "mnt")
    state = tmp_path / "journal"
    state.write_text("reserve uuid:0badc0de-0000-4000-8000-000000000000 7\n")
    before = reserve(dev)
    r = run(RK_ZERO, "recover", mnt, "/", "--state", state, check=False)
    assert r.returncode == 0, r.stderr
    assert "not restored: the journal names another filesystem" in r.stdout, r.stdout
    assert reserve(dev) == before
    # and a fill does not take the foreign value as the one to restore
    r = run(RK_ZERO, "free-space", mnt, "/", "--state", state, "--verify", "none", check=False)
    assert r.returncode == 0, r.stderr
    assert f"lowered from {before} to 0" in r.stdout
    assert reserve(dev) == before


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_fill_read_back_failure_fills_again_bounded(disks, tmp_path):
    img = disks.image("fs.img", 16)
    dev = disks.loop(img)
    mnt = disks.mount(dev, tmp_path / "mnt")
    orig = reserve(dev)
    # one failed read: released, filled again, verified
    env = dict(os.environ, RESETKIT_FAIL="zero:read:1=EIO")
    r = run(RK_ZERO, "free-space", mnt, "/", "--verify", "full", env=env, check=False, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "filling again (pass 1 of at most 2 more)" in r.stdout
    assert "filled again 1 time after a failed read-back (read error: Input/output error)" in r.stdout
    assert "all zero" in r.stdout and "NIST SP 800-88 Clear" in r.stdout
    # a read-back that never passes: 3 fills in all, then an honest failure
    env = dict(os.environ, RESETKIT_FAIL="zero:read:1+=EIO", RESETKIT_FAULT_TRACE=str(tmp_path / "trace"))
    r = run(RK_ZERO, "free-space", mnt, "/", "--verify", "full", env=env, check=False, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "read-back still failing after 2 more fills; the fill was released" in r.stderr, r.stderr
    assert (tmp_path / "trace").read_text().split().count("zero:release") == 3
    assert reserve(dev) == orig
    assert os.statvfs(mnt).f_bfree * os.statvfs(mnt).f_frsize > 8 << 20


def _planted_fs(disks, tmp_path, mib=64):
    """A 4 KiB-block ext4 with deleted markers in its free space."""
    img = disks.image("fs.img", mib, block=4096)
    dev = disks.loop(img)
    mnt = disks.mount(dev, tmp_path / "mnt")
    markers = plant_markers(mnt, "dev", n_small=30, large_mib=8)
    for f in mnt.iterdir():
        if f.is_file():
            f.unlink()
    os.sync()
    return img, dev, mnt, markers


def _gone(disks, img, dev, mnt, markers):
    disks.umount(mnt)
    disks.detach(dev)
    assert markers_in(img, markers) == []


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
@pytest.mark.parametrize("point,err,why", [
    ("zero:fill-bdev", "EACCES", "the filesystem's block device cannot be opened for writing: Permission denied"),
    ("zero:fiemap", "EINVAL", "FIEMAP cannot place the fill's blocks on the device: Operation not supported"),
    ("zero:zeroout:1", "95", "BLKZEROOUT on the filesystem's device: Operation not supported"),
    # mid-way: the kernel would not drop a cached page of the device
    ("zero:zeroout:3", "EBUSY", "BLKZEROOUT on the filesystem's device: Device or resource busy"),
])
def test_fill_device_unavailable_writes_zeros(disks, tmp_path, point, err, why):
    img, dev, mnt, markers = _planted_fs(disks, tmp_path)
    orig = reserve(dev)
    env = dict(os.environ, RESETKIT_FAIL=f"{point}={err}")
    r = run(RK_ZERO, "free-space", mnt, "/", "--max-write", str(4 << 20), "--verify", "full", env=env, check=False)
    assert r.returncode == 0, r.stderr
    assert f"method O_DIRECT zero writes (not the device's zeroing: {why})" in r.stdout, r.stdout
    assert "all zero" in r.stdout
    assert reserve(dev) == orig
    _gone(disks, img, dev, mnt, markers)


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_fill_device_io_error_fails_released(disks, tmp_path):
    # an I/O error of the device's zeroing is no reason to try another way
    # on the same device: the step fails, the fill released, reserve back
    img, dev, mnt, markers = _planted_fs(disks, tmp_path)
    orig = reserve(dev)
    free0 = os.statvfs(mnt).f_bfree
    env = dict(os.environ, RESETKIT_FAIL="zero:zeroout:2=EIO")
    r = run(RK_ZERO, "free-space", mnt, "/", "--max-write", str(4 << 20), env=env, check=False)
    assert r.returncode == 1
    assert "BLKZEROOUT of 4194304 bytes at device offset" in r.stderr and "Input/output error" in r.stderr
    assert "the fill was released" in r.stderr
    assert reserve(dev) == orig
    assert os.statvfs(mnt).f_bfree >= free0 - 16


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_fill_device_killed_mid_zeroing_then_finished(disks, tmp_path):
    img, dev, mnt, markers = _planted_fs(disks, tmp_path)
    trace = tmp_path / "trace"
    state = tmp_path / "journal"
    env = dict(os.environ, RESETKIT_FAULT_TRACE=str(trace))
    r = run(RK_ZERO, "free-space", mnt, "/", "--max-write", str(4 << 20), "--verify", "none", env=env, check=False)
    assert r.returncode == 0, r.stderr
    assert trace.read_text().split().count("zero:zeroout") >= 4
    free0 = os.statvfs(mnt).f_bfree
    # Killed right before the third BLKZEROOUT piece: two are done.  (The
    # count is of that point's own passages: how many fallocate() calls
    # and pieces a run takes depends on where ext4 puts the fill, which
    # differs from run to run: the kill once missed when it was counted
    # on the point the two loops share.)
    env = dict(os.environ, RESETKIT_FAULT="zero:zeroout:3")
    r = run(RK_ZERO, "free-space", mnt, "/", "--max-write", str(4 << 20), "--state", state, env=env, check=False)
    assert r.returncode == -9
    assert os.statvfs(mnt).f_bfree >= free0 - 16       # O_TMPFILE: nothing held after the kill
    r = run(RK_ZERO, "free-space", mnt, "/", "--state", state, "--verify", "full", check=False)
    assert r.returncode == 0, r.stderr
    assert f"method {DEVICE_FILL}" in r.stdout and "all zero" in r.stdout
    _gone(disks, img, dev, mnt, markers)


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_fill_device_read_back_failure_fills_again(disks, tmp_path):
    img, dev, mnt, markers = _planted_fs(disks, tmp_path)
    env = dict(os.environ, RESETKIT_FAIL="zero:read:5=EIO")
    r = run(RK_ZERO, "free-space", mnt, "/", "--verify", "sample", env=env, check=False)
    assert r.returncode == 0, r.stderr
    assert "filled again 1 time after a failed read-back" in r.stdout
    assert "(the device's copy of the fill's blocks)" in r.stdout
    assert f"method {DEVICE_FILL}" in r.stdout and "all zero" in r.stdout
    _gone(disks, img, dev, mnt, markers)


def test_fill_write_only_writes_zeros(disks, tmp_path):
    img, dev, mnt, markers = _planted_fs(disks, tmp_path)
    r = run(RK_ZERO, "free-space", mnt, "/", "--write-only", "--verify", "full", check=False)
    assert r.returncode == 0, r.stderr
    assert "method O_DIRECT zero writes;" in r.stdout, r.stdout
    _gone(disks, img, dev, mnt, markers)


def test_fill_device_after_directories_removed(disks, tmp_path):
    # A reset removes directories right before it zeroes free space: their
    # blocks, now free, are still cached pages of the device, and the
    # kernel's BLKZEROOUT refused them (EBUSY) until the fill dropped them
    # first.  (Before: the fill fell back to writing zeros every time.)
    img = disks.image("fs.img", 48, block=4096)
    dev = disks.loop(img)
    mnt = disks.mount(dev, tmp_path / "mnt")
    # the pages' state races with the kernel's per-CPU batches: without the
    # fix about one round in three fell back, so eight rounds
    for _ in range(8):
        for d in range(8):
            (mnt / "t" / str(d)).mkdir(parents=True)
            for f in range(300):
                (mnt / "t" / str(d) / f"secret-file-with-a-long-name-{f}").write_text("x\n")
        os.sync()
        shutil.rmtree(mnt / "t")
        r = run(RK_ZERO, "free-space", mnt, "/", "--verify", "sample", check=False)
        assert r.returncode == 0, r.stderr
        assert f"method {DEVICE_FILL}" in r.stdout, r.stdout
        assert "all zero" in r.stdout


def _fragmented_stale_fs(disks, tmp_path):
    """A 4 KiB-block ext4 whose free space is hundreds of runs between kept
    files (a fill file of it needs an extent-tree block: more than the 4
    extents its inode holds), every free block a deleted secret."""
    img = disks.image("fs.img", 48, block=4096)
    dev = disks.loop(img)
    mnt = disks.mount(dev, tmp_path / "mnt")
    marker = b"RKEXTENT" + os.urandom(4).hex().encode() + b"\n"
    block = marker * (4096 // len(marker)) + b"\n" * (4096 % len(marker))
    (mnt / "keep").mkdir()
    for i in range(300):
        (mnt / "keep" / f"k{i}").write_bytes(b"k" * 4096)
        (mnt / "keep" / f"s{i}").write_bytes(block * 8)
    os.sync()
    fill_with(mnt / "secret", dev, block)     # the rest of the free space too
    for i in range(300):
        (mnt / "keep" / f"s{i}").unlink()
    os.unlink(mnt / "secret")
    os.sync()
    return img, dev, mnt, marker


@pytest.mark.parametrize("path", ["device", "write"])
def test_fill_extent_tree_blocks_hold_no_old_data(disks, tmp_path, path):
    # The fill file of fragmented free space needs extent-tree blocks,
    # allocated from that free space: in use while the fill zeroes, never
    # zeroed by it, and freed with the fill before ext4 wrote them home,
    # so the deleted data stayed in them (found by the guest scenario
    # zero-blk on Debian's 6.1: one block of markers after a "verified"
    # zeroing, seen only once the filesystem was unmounted; 3 of 4 runs
    # there failed before the fix).  This machine's newer kernel wrote the
    # blocks home in time even before the fix: here the test guards the
    # layout and both paths, the guest scenario is the one that failed.
    img, dev, mnt, marker = _fragmented_stale_fs(disks, tmp_path)
    assert img.read_bytes().count(marker) > 0
    extra = ["--write-only"] if path == "write" else []
    r = run(RK_ZERO, "free-space", mnt, "/", *extra, check=False)
    assert r.returncode == 0, r.stderr
    disks.umount(mnt)
    disks.detach(dev)
    data = img.read_bytes()
    left = [b for b in range(len(data) // 4096) if marker in data[b * 4096:(b + 1) * 4096]]
    assert left == [], f"blocks still holding the deleted data: {left[:20]} ({len(left)})"


@pytest.mark.parametrize("path", ["device", "write"])
def test_fill_leaves_no_old_data_in_the_journal(disks, tmp_path, path):
    # A stale cached page of the device (here a raw read, as blkid or a
    # backup makes) lends its old bytes to the unused part of every new
    # directory block, and ext4's journal keeps copies of those blocks: the
    # secrets of deleted files stayed in the journal, where no fill reaches
    # (before: 50,000 markers after a "verified" zeroing, both paths).
    img = disks.image("fs.img", 48, block=4096)
    dev = disks.loop(img)
    mnt = disks.mount(dev, tmp_path / "mnt")
    (mnt / "s").mkdir()
    marker = b"RKJOURNAL" + os.urandom(4).hex().encode() + b"\n"
    for i in range(4):
        (mnt / "s" / f"f{i}").write_bytes(marker * ((1 << 20) // len(marker)))
    os.sync()
    shutil.rmtree(mnt / "s")
    os.sync()
    with open(dev, "rb") as f:
        while f.read(1 << 20):
            pass
    for i in range(200):
        (mnt / f"d{i}").mkdir()
    os.sync()
    for i in range(200):
        (mnt / f"d{i}").rmdir()
    os.sync()
    extra = ["--write-only"] if path == "write" else []
    r = run(RK_ZERO, "free-space", mnt, "/", *extra, check=False)
    assert r.returncode == 0, r.stderr
    assert "ext4's journal checkpointed and zeroed" in r.stdout, r.stdout
    disks.umount(mnt)
    disks.detach(dev)
    assert img.read_bytes().count(marker) == 0


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
@pytest.mark.parametrize("path", ["device", "write"])
def test_extent_tree_not_written_home_is_said(disks, tmp_path, path):
    # a kernel without EXT4_IOC_CHECKPOINT (before 5.13) or a failing one:
    # the fill's extent-tree blocks may keep old data, and the line and the
    # step say so instead of a plain claim
    img, dev, mnt, marker = _fragmented_stale_fs(disks, tmp_path)
    extra = ["--write-only"] if path == "write" else []
    env = dict(os.environ, RESETKIT_FAIL="zero:checkpoint=ENOTTY")
    r = run(RK_ZERO, "free-space", mnt, "/", *extra, env=env, check=False)
    assert r.returncode == 0, r.stderr
    assert ("the fill's extent-tree blocks NOT written home before the release (Inappropriate ioctl for device): "
            "those few blocks may keep old data") in r.stdout, r.stdout


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_journal_not_zeroed_is_said(disks, tmp_path):
    # a kernel without EXT4_IOC_CHECKPOINT (before 5.13) or a failing one:
    # the step still zeroes the free space, and the line says the journal
    # was not zeroed, never that it was
    img = disks.image("fs.img", 32, block=4096)
    dev = disks.loop(img)
    mnt = disks.mount(dev, tmp_path / "mnt")
    env = dict(os.environ, RESETKIT_FAIL="zero:journal=EINVAL")
    r = run(RK_ZERO, "free-space", mnt, "/", env=env, check=False)
    assert r.returncode == 0, r.stderr
    assert "ext4's journal NOT zeroed (Invalid argument): it may hold copies of old data" in r.stdout
    assert "journal checkpointed" not in r.stdout
