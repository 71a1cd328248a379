# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the zeroization tests: image files, loop devices and ext4
mounts of a few MiB under pytest's tmp_path, always torn down (umount,
losetup -d) in reverse order, even when the test fails."""
import mmap
import os
import shutil
import subprocess
from pathlib import Path

import pytest

BUILD = Path(os.environ.get("RESETKIT_BUILD_DIR", "build-test"))
RK_ZERO = BUILD / "bench" / "rk-zero"
FAULT_INJECTION = os.environ.get("RESETKIT_FAULT_INJECTION", "0") == "1"


def run(*args, check=True, env=None, **kw):
    return subprocess.run([str(a) for a in args], check=check, text=True,
                          capture_output=True, env=env, **kw)


def can_loop():
    if os.geteuid() != 0 or not shutil.which("losetup") or not shutil.which("mkfs.ext4"):
        return False
    return os.path.exists("/dev/loop-control")


needs_loop = pytest.mark.skipif(not can_loop(), reason="needs root, loop devices and mkfs.ext4")


class Disks:
    """Creates images, loop devices and mounts; undoes all of it."""

    def __init__(self, base: Path):
        self.base = base
        self.loops = []
        self.mounts = []

    def image(self, name, mib, fs=True, block=None):
        """block: ext4's block size (mkfs picks 1024 for small images; the
        fill lets the device zero only blocks of a page or more)."""
        p = self.base / name
        with open(p, "wb") as f:
            f.truncate(mib << 20)
        if fs:
            run("mkfs.ext4", "-q", "-F", *(["-b", str(block)] if block else []), p)
        return p

    def loop(self, image, dev=None):
        """Attach image to the first free loop device, or to dev."""
        if dev:
            run("losetup", dev, image)
        else:
            dev = run("losetup", "--find", "--show", image).stdout.strip()
        self.loops.append(dev)
        return dev

    def reattach_elsewhere(self, image, old_dev, occupant=None):
        """After old_dev was detached: attach image to another loop device,
        as a reboot may.  old_dev is taken first (by occupant, an image, if
        given and it is still free), so the number must differ; returns
        (new_dev, occupant_dev or None)."""
        occ = None
        if occupant is not None:
            try:
                occ = self.loop(occupant, dev=old_dev)
            except subprocess.CalledProcessError:
                occ = None      # someone else took it meanwhile: fine too
        new = self.loop(image)
        assert new != old_dev
        return new, occ

    def mount(self, dev, where: Path):
        where.mkdir(parents=True, exist_ok=True)
        run("mount", dev, where)
        self.mounts.append(where)
        return where

    def umount(self, where: Path):
        run("umount", where)
        self.mounts.remove(where)

    def detach(self, dev):
        run("losetup", "-d", dev)
        self.loops.remove(dev)

    def cleanup(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", str(m)], capture_output=True)
        for d in reversed(self.loops):
            subprocess.run(["losetup", "-d", d], capture_output=True)
        self.mounts, self.loops = [], []


@pytest.fixture
def disks(tmp_path):
    d = Disks(tmp_path)
    try:
        yield d
    finally:
        d.cleanup()


def plant_markers(top: Path, tag: str, n_small=20, large_mib=3):
    """Unique marker strings in large and small files; returns them."""
    markers = []
    for i in range(n_small):
        m = f"RKMARK-{tag}-small-{i:04d}-{os.urandom(6).hex()}"
        (top / f"small-{i}.txt").write_text(m + "\n")
        markers.append(m)
    m = f"RKMARK-{tag}-large-{os.urandom(6).hex()}"
    block = (m + "\n").encode() * ((1 << 20) // (len(m) + 1))
    with open(top / "large.bin", "wb") as f:
        for _ in range(large_mib):
            f.write(block)
    markers.append(m)
    os.sync()
    return markers


def reserve(dev):
    """ext4 reserved_clusters of the filesystem on loop device dev."""
    return open(f"/sys/fs/ext4/{os.path.basename(dev)}/reserved_clusters").read().strip()


def set_reserve(dev, value):
    with open(f"/sys/fs/ext4/{os.path.basename(dev)}/reserved_clusters", "w") as f:
        f.write(f"{value}\n")


def fill_with(path: Path, dev, block: bytes):
    """Write `block` (4 KiB) into file path until the filesystem on dev is
    full, its ext4 reserve included (lowered meanwhile, then restored).
    O_DIRECT: buffered writes into a full ext4 without its reserve can
    stall writeback (a guest hung on it)."""
    assert len(block) == 4096
    orig = reserve(dev)
    set_reserve(dev, 0)
    buf = mmap.mmap(-1, 1 << 20)
    buf.write(block * 256)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_DIRECT)
    try:
        for size in (1 << 20, 4096):
            try:
                while os.write(fd, memoryview(buf)[:size]) > 0:
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
        set_reserve(dev, orig)
    os.sync()


def fs_uuid(image):
    return run("blkid", "-p", "-s", "UUID", "-o", "value", image).stdout.strip()


def markers_in(image: Path, markers):
    data = image.read_bytes()
    return [m for m in markers if m.encode() in data]


def write_config(path: Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def hold(path):
    """A process that keeps path open (as journald keeps its journal)."""
    p = subprocess.Popen(["sh", "-c", f'exec 3<"{path}"; echo ready; exec sleep 600'],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p
