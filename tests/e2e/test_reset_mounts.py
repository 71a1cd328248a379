"""Wildcards never carry a removal into another mounted filesystem (SPEC §3
Safety): a match that is a mount point, or a path through one, is skipped
and logged; only an entry's literal path may name a mount.

Every case runs resetctl inside a private mount namespace (unshare -m) made
for the test: the bind mounts and tmpfs it makes vanish with it, and lead
to directories the test made outside the --root tree."""
import json
import shlex
import subprocess
from pathlib import Path

import pytest

from rkreset import RESETCTL, write

MANIFEST = """\
remove /home/*/.ssh
remove /var/crash/*
empty /var/crash/usb2
remove /srv/*/secrets
remove /mnt/*
"""


def layout(tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    write(root, "etc/resetkit/resetd.conf", "")
    write(root, "usr/lib/resetkit/factory-reset.d/test.conf", MANIFEST)
    # plain matches: must go
    write(root, "home/alice/.ssh/id_ed25519", "alice key")
    write(root, "var/crash/core.1", "core")
    write(root, "srv/a/secrets/s", "a secret")
    # mount points the wildcards reach
    for d in ("home/nfsuser", "home/carol", "var/crash/usb", "var/crash/usb2", "srv/b", "mnt/disk"):
        (root / d).mkdir(parents=True, exist_ok=True)
    # what lies behind them, outside the root or elsewhere in it
    write(outside, "nfs/.ssh/id_ed25519", "nfs key outside the root")
    write(outside, "srvb/secrets/s", "srv/b secret outside the root")
    write(outside, "disk/data", "disk data outside the root")
    write(root, "data/carol/.ssh/id_ed25519", "carol key, same filesystem")
    return root, outside


def run_in_namespace(root, outside, args, after=""):
    """Make the mounts, run resetctl, report what the tmpfs hold, in one
    private mount namespace."""
    r, o = shlex.quote(str(root)), shlex.quote(str(outside))
    script = f"""
mount --bind {o}/nfs {r}/home/nfsuser
mount --bind {r}/data/carol {r}/home/carol
mount -t tmpfs -o size=1m rk-test {r}/var/crash/usb
echo kept > {r}/var/crash/usb/on-tmpfs
mount -t tmpfs -o size=1m rk-test {r}/var/crash/usb2
echo gone > {r}/var/crash/usb2/on-tmpfs2
mount --bind {o}/srvb {r}/srv/b
mount --bind {o}/disk {r}/mnt/disk
set +e
{shlex.join([str(RESETCTL), "--root", str(root)] + args)}
echo "rc=$?"
set -e
{after}
"""
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-euc", script],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    return p


def test_wildcards_never_cross_into_mounts(tmp_path):
    root, outside = layout(tmp_path)
    p = run_in_namespace(root, outside,
                         ["factory-reset", "--yes", "--then", "none", "--no-zeroize"],
                         after=f"""
test -e {root}/var/crash/usb/on-tmpfs && echo usb-kept
test -e {root}/var/crash/usb2/on-tmpfs2 && echo usb2-kept
mountpoint -q {root}/var/crash/usb && echo usb-mounted
test -e {root}/home/carol/.ssh/id_ed25519 && echo carol-kept
true""")
    assert "rc=0" in p.stdout, p.stdout + p.stderr
    # plain matches went
    assert not (root / "home/alice/.ssh").exists()
    assert not (root / "var/crash/core.1").exists()
    assert not (root / "srv/a/secrets").exists()
    # nothing behind a mount a wildcard reached
    assert (outside / "nfs/.ssh/id_ed25519").read_text() == "nfs key outside the root"
    assert (outside / "srvb/secrets/s").read_text() == "srv/b secret outside the root"
    assert (outside / "disk/data").read_text() == "disk data outside the root"
    assert "carol-kept" in p.stdout, "a bind mount of the same filesystem is a mount too"
    assert (root / "data/carol/.ssh/id_ed25519").exists()
    assert "usb-kept" in p.stdout and "usb-mounted" in p.stdout
    # the literal entry names its mount: emptied
    assert "usb2-kept" not in p.stdout
    # each skip is logged, naming the path
    lines = p.stderr.splitlines()
    for path in ("/home/nfsuser", "/home/carol", "/var/crash/usb", "/srv/b", "/mnt/disk"):
        assert any(f"{path} is a mount point" in ln or f"{path}: a mount point" in ln for ln in lines), \
            (path, p.stderr)


def test_dry_run_counts_nothing_behind_a_mount(tmp_path):
    root, outside = layout(tmp_path)
    p = run_in_namespace(root, outside, ["--json", "factory-reset", "--dry-run"])
    assert "rc=0" in p.stdout, p.stdout + p.stderr
    plan = json.loads(p.stdout[:p.stdout.rindex("rc=")])
    files = sum(s.get("files", 0) for s in plan["steps"])
    # alice's key, core.1, srv/a's secret: 3 files; the literal usb2 tmpfs: 1
    assert files == 4, plan


def test_deleted_users_home_that_is_a_bind_mount_is_left(tmp_path):
    """A deleted user's home bind-mounted from elsewhere (here from outside
    the root, on the same filesystem: st_dev cannot tell) is another
    filesystem's data: the home rule never empties it."""
    from rkreset import build_ssr_root
    root = build_ssr_root(tmp_path / "root")
    outside = tmp_path / "outside-home"
    write(outside, ".ssh/id_ed25519", "key outside the root")
    r, o = shlex.quote(str(root)), shlex.quote(str(outside))
    script = f"""
mount --bind {o} {r}/home/alice
{shlex.join([str(RESETCTL), "--root", str(root), "factory-reset", "--yes", "--then", "none", "--no-zeroize"])}
"""
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-euc", script],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert (outside / ".ssh/id_ed25519").read_text() == "key outside the root"
    assert "home/alice is a mount point, left in place" in p.stderr, p.stderr
    # the user is gone all the same, and bob's plain home with it
    assert "alice:" not in (root / "etc/passwd").read_text()
    assert not (root / "home/bob").exists()
