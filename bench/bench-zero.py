#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Zeroization benchmarks (run on demand, as root; see bench/README.md).

1. Free space of a loop-mounted ext4 image (4 KiB blocks): rk-zero
   free-space (fill phase, and the whole step with read-back and FITRIM:
   the device zeroing the fill's blocks, and with --write-only the zeros
   written through the filesystem) against
   `dd if=/dev/zero of=FILE bs=4M oflag=direct conv=fsync` until full and
   `sfill -llz -f` (secure-delete, one pass of zeros).
2. A whole inactive partition on a loop block device: rk-zero device
   (durable: every chunk flushed) against `blkdiscard -z` followed by a
   flush of the device (durable too) and `dd ... oflag=direct conv=fsync`.
3. With --crypto-erase (issue 15): a cryptographic erase of a 1 GiB and a
   16 GiB LUKS2 image (sparse files: the erase touches the header only)
   with rk-crypto (crypto.c, as the `crypto-erase` entry runs it) against
   zeroing an image of the same size with rk-zero device (zero.c, as step 6
   runs it, with its sampled read-back): the ratio is why Purge by key
   destruction matters.  It writes the whole size once for the zeroing
   side (--crypto-gib to choose the sizes).

Every run gets a fresh image (sparse file in a temporary directory, a few
hundred MiB at most), so no tool profits from what another left behind.
Throughput is MiB/s of bytes zeroed; ratios are rk-zero / other."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUILD = Path(os.environ.get("RESETKIT_BUILD_DIR", Path(__file__).resolve().parent.parent / "build-test"))
RK_ZERO = BUILD / "bench" / "rk-zero"
RK_CRYPTO = BUILD / "bench" / "rk-crypto"


def sh(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, text=True, capture_output=True, **kw)


class Loop:
    def __init__(self, tmp: Path, mib: int, fs: bool, random_fill: bool = False):
        self.img = tmp / "bench.img"
        self.mnt = tmp / "mnt"
        with open(self.img, "wb") as f:
            f.truncate(mib << 20)
        if random_fill:
            sh("dd", "if=/dev/urandom", f"of={self.img}", "bs=4M", f"count={mib // 4}", "conv=notrunc,fsync")
        if fs:
            # 4 KiB blocks, as on the appliance (mkfs picks 1 KiB below
            # 512 MB, where the fill must write its zeros itself)
            sh("mkfs.ext4", "-q", "-F", "-b", "4096", self.img)
        self.dev = sh("losetup", "--find", "--show", self.img).stdout.strip()
        self.mounted = False
        if fs:
            self.mnt.mkdir(exist_ok=True)
            sh("mount", self.dev, self.mnt)
            self.mounted = True

    def close(self):
        if self.mounted:
            subprocess.run(["umount", str(self.mnt)], capture_output=True)
        subprocess.run(["losetup", "-d", self.dev], capture_output=True)
        self.img.unlink(missing_ok=True)


def timed(fn):
    os.sync()
    t = time.monotonic()
    out = fn()
    return time.monotonic() - t, out


def free_rk(loop, verify, *extra):
    args = [RK_ZERO, "free-space", loop.mnt, "/", "--verify", verify, *extra]
    out = sh(*args).stdout
    m = re.search(r"free space of /: (\d+) bytes .* in ([\d.]+) s", out)
    return int(m.group(1)), float(m.group(2))


def free_dd(loop):
    f = loop.mnt / "ddfill"
    subprocess.run(["dd", "if=/dev/zero", f"of={f}", "bs=4M", "oflag=direct", "conv=fsync"],
                   capture_output=True)
    n = f.stat().st_size
    f.unlink()
    return n


def free_sfill(loop):
    before = os.statvfs(loop.mnt)
    subprocess.run(["sfill", "-llz", "-f", str(loop.mnt)], capture_output=True)
    return before.f_bfree * before.f_frsize


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def interleaved(names, reps, run_one):
    """reps rounds, each running every tool once in a rotated order, so the
    host's drift (writeback, page cache, other jobs) falls on all tools
    alike rather than on whichever ran last; the median rate per tool."""
    rates = {n: [] for n in names}
    for rep in range(reps):
        k = rep % len(names)
        for name in names[k:] + names[:k]:
            rate = run_one(name)
            if rate is not None:
                rates[name].append(rate)
    return {n: median(r) for n, r in rates.items() if r}


def bench_free(tmp, mib, reps):
    def run_one(name):
        if name == "sfill" and not shutil.which("sfill"):
            return None
        loop = Loop(tmp, mib, fs=True)
        try:
            if name == "rk-zero fill":
                n, secs = free_rk(loop, "sample")     # the fill phase as rk-zero timed it
            elif name == "rk-zero step (verify+trim)":
                secs, (n, _) = timed(lambda: free_rk(loop, "sample"))
            elif name == "rk-zero step, written zeros":
                secs, (n, _) = timed(lambda: free_rk(loop, "sample", "--write-only"))
            elif name == "dd":
                secs, n = timed(lambda: free_dd(loop))
            else:
                secs, n = timed(lambda: free_sfill(loop))
        finally:
            loop.close()
        return n / (1 << 20) / secs
    return interleaved(["rk-zero fill", "rk-zero step (verify+trim)", "rk-zero step, written zeros", "dd", "sfill"],
                       reps, run_one)


def bench_device(tmp, mib, reps):
    def run_one(name):
        if name == "blkdiscard -z + flush" and not shutil.which("blkdiscard"):
            return None
        loop = Loop(tmp, mib, fs=False, random_fill=True)
        try:
            if name == "rk-zero":
                cmd = [RK_ZERO, "device", loop.dev, "--verify", "none"]
            elif name == "blkdiscard -z + flush":
                # durable, as rk-zero's result is: the device's cache flushed
                cmd = ["sh", "-c", f"blkdiscard -z {loop.dev} && exec sync {loop.dev}"]   # sync FILE: fsync(2)
            else:
                cmd = ["dd", "if=/dev/zero", f"of={loop.dev}", "bs=4M", "oflag=direct", "conv=fsync"]
            secs, _ = timed(lambda: subprocess.run([str(c) for c in cmd], capture_output=True, check=(name != "dd")))
        finally:
            loop.close()
        return mib / secs
    return interleaved(["rk-zero", "blkdiscard -z + flush", "dd"], reps, run_one)


def luks_image(path: Path, gib: int):
    """A sparse LUKS2 image with two keyslots (fast PBKDF: the bench times
    the erase, not the key derivation)."""
    with open(path, "wb") as f:
        f.truncate(gib << 30)
    fast = ["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"]
    sh("cryptsetup", "luksFormat", "--type", "luks2", *fast, "-q", "--key-file", "-", path, input="pass-one")
    k2 = path.with_suffix(".k2")
    k2.write_text("pass-two")
    sh("cryptsetup", "luksAddKey", *fast, "-q", "--key-file", "-", path, k2, input="pass-one")
    k2.unlink()


def bench_crypto(tmp, sizes, reps):
    """seconds per run (median), crypto-erase and zeroing, per size"""
    rows = {}
    for gib in sizes:
        img = tmp / f"luks-{gib}g.img"
        erase, zero = [], []
        for _ in range(reps):
            luks_image(img, gib)
            secs, _ = timed(lambda: sh(RK_CRYPTO, "erase", img))
            erase.append(secs)
            img.unlink()
        for _ in range(max(1, reps // 3)):
            with open(img, "wb") as f:
                f.truncate(gib << 30)
            secs, _ = timed(lambda: sh(RK_ZERO, "device", img, "--verify", "sample"))
            zero.append(secs)
            img.unlink()
        rows[gib] = (median(erase), median(zero))
    return rows


def report_crypto(rows):
    print("\n== crypto-erase of a LUKS2 image against zeroing it (rk-zero device, sampled read-back)")
    for gib, (erase, zero) in rows.items():
        print(f"  {gib:3d} GiB: crypto-erase {erase * 1000:8.1f} ms, zeroing {zero:8.1f} s: "
              f"{zero / erase:,.0f}x faster")


def report(title, rows, ours, others):
    print(f"\n== {title}")
    for k, v in rows.items():
        print(f"  {k:30s} {v:9.1f} MiB/s")
    for o in others:
        if o in rows and ours in rows:
            print(f"  ratio {ours} / {o}: {rows[ours] / rows[o]:.2f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=256, help="image size (default 256, at most 512)")
    ap.add_argument("--reps", type=int, default=3, help="runs per tool; the median is shown")
    ap.add_argument("--crypto-erase", action="store_true",
                    help="also the crypto-erase row (issue 15): LUKS2 images of --crypto-gib sizes")
    ap.add_argument("--crypto-gib", default="1,16", help="sizes in GiB for --crypto-erase (default 1,16)")
    ap.add_argument("--only-crypto", action="store_true", help="only the crypto-erase row")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench-zero: needs root (loop devices, mounts)")
    if not RK_ZERO.exists():
        sys.exit(f"bench-zero: {RK_ZERO} not built (meson compile -C build-test)")
    mib = min(a.mib, 512)
    with tempfile.TemporaryDirectory(prefix="rk-bench-zero.") as t:
        tmp = Path(t)
        if a.crypto_erase or a.only_crypto:
            if not RK_CRYPTO.exists() or not shutil.which("cryptsetup"):
                sys.exit(f"bench-zero: --crypto-erase needs {RK_CRYPTO} and cryptsetup (scripts/deps)")
            report_crypto(bench_crypto(tmp, [int(x) for x in a.crypto_gib.split(",")], a.reps))
            if a.only_crypto:
                return
        free = bench_free(tmp, mib, a.reps)
        report(f"free space of a {mib} MiB loop-mounted ext4", free, "rk-zero fill", ["dd", "sfill"])
        for step in ("rk-zero step (verify+trim)", "rk-zero step, written zeros"):
            for o in ("dd", "sfill"):
                if step in free and o in free:
                    print(f"  ratio {step} / {o}: {free[step] / free[o]:.2f}x")
        # tens of milliseconds a run: more rounds for a stable median
        dev = bench_device(tmp, mib, max(a.reps, 9))
        report(f"whole {mib} MiB loop block device", dev, "rk-zero", ["blkdiscard -z + flush", "dd"])
        faster = max((dev.get("blkdiscard -z + flush", 0), dev.get("dd", 0)))
        if faster:
            print(f"  ratio rk-zero / faster of the two: {dev['rk-zero'] / faster:.2f}x")
        goals(free, dev)


def goals(free, dev):
    """Issue 15's two goals, each said met or not, with its ratio."""
    print("\n== goals")
    rows = []
    if "rk-zero step (verify+trim)" in free and "dd" in free:
        rows.append(("whole free-space step >= 0.9x dd's fill alone",
                     free["rk-zero step (verify+trim)"] / free["dd"], 0.9))
    if "rk-zero" in dev and "blkdiscard -z + flush" in dev:
        rows.append(("whole-device zeroing >= 1.0x blkdiscard -z + flush",
                     dev["rk-zero"] / dev["blkdiscard -z + flush"], 1.0))
    for what, ratio, goal in rows:
        print(f"  {what}: {ratio:.2f}x {'MET' if ratio >= goal else 'NOT MET'}")


if __name__ == "__main__":
    main()
