"""The Debian package (debian/, built by scripts/package) is right: its
files, modes, conffiles, trigger and maintainer scripts, and an install,
remove, purge and reinstall in a throwaway bookworm chroot.

Run by scripts/test-package, which builds the package first.  Environment:
  RESETKIT_DEB        the resetkit_*.deb to check (required)
  RESETKIT_CACHE_DIR  where the chroot's tarball is cached (default: next
                      to the .deb, chroot-cache/)

The chroot: mmdebstrap (variant apt) from the machine's own apt sources,
with initramfs-tools, systemd and the package's library dependencies, made
once per input and cached as a tarball; each test session unpacks it into a
temp dir, removed at the end.  Commands run in it through chroot(8) in a
private mount namespace (its own /proc), so nothing is mounted on the host
after a run.  No kernel: update-initramfs is replaced by a stub (dpkg-divert)
that logs its calls, which shows the trigger ran; the appliance image
(tests/image/) checks a real initramfs.
"""
import glob
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

DEB = os.environ.get("RESETKIT_DEB")
if not DEB or not os.path.isfile(DEB):
    pytest.skip("RESETKIT_DEB names no .deb (run scripts/test-package)", allow_module_level=True)
DEB = Path(DEB).resolve()
CACHE = Path(os.environ.get("RESETKIT_CACHE_DIR") or DEB.parent / "chroot-cache")
TRIPLET = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True,
                         text=True, check=True).stdout.strip()

BINARIES = ["usr/sbin/resetd", "usr/sbin/resetctl", "usr/sbin/reset-failsafe"]
ACTIONS = f"usr/lib/{TRIPLET}/resetkit/resetd-actions.so"
UNITS = {
    # unit: (target that wants it, started by the package)
    "resetd.service": ("multi-user.target", True),
    "reset-failsafe.service": ("sysinit.target", False),
    "resetkit-resume.service": ("sysinit.target", False),
    "resetkit-firstboot.service": ("multi-user.target", False),
}
HOOKS = [
    "usr/share/initramfs-tools/hooks/resetkit",
    "usr/share/initramfs-tools/scripts/local-bottom/resetkit",
    "usr/lib/dracut/modules.d/90resetkit/module-setup.sh",
    "usr/lib/dracut/modules.d/90resetkit/reset-failsafe-hook.sh",
]
DROPINS = [
    "usr/lib/systemd/logind.conf.d/resetkit.conf",
    "usr/lib/modules-load.d/resetkit.conf",
]
MANPAGES = [
    "usr/share/man/man8/resetd.8.gz",
    "usr/share/man/man8/resetctl.8.gz",
    "usr/share/man/man8/reset-failsafe.8.gz",
    "usr/share/man/man5/resetd.conf.5.gz",
    "usr/share/man/man5/resetkit-factory-reset.d.5.gz",
]
DATA = [
    "etc/resetkit/resetd.conf",
    "usr/lib/resetkit/factory-config.json",
    "usr/lib/resetkit/factory-reset.d/ssr.conf",
    "usr/lib/resetkit/factory-passwords/root",
    "usr/lib/resetkit/factory-passwords/admin",
    "usr/share/doc/resetkit/README.Debian",
]
EVERY_FILE = BINARIES + [ACTIONS] + ["lib/systemd/system/" + u for u in UNITS] + HOOKS + DROPINS \
    + MANPAGES + DATA


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert p.returncode == 0, f"{cmd} exited {p.returncode}:\n{p.stdout}\n{p.stderr}"
    return p.stdout


# ---- the .deb itself ------------------------------------------------------

@pytest.fixture(scope="module")
def contents():
    """path (no leading ./) -> (mode string, owner, link target)"""
    entries = {}
    for line in run(["dpkg-deb", "-c", str(DEB)]).splitlines():
        f = line.split()
        name = f[5][2:] if f[5].startswith("./") else f[5]
        entries[name.rstrip("/")] = (f[0], f[1], f[7] if len(f) > 7 and f[6] == "->" else None)
    return entries


@pytest.fixture(scope="module")
def control(tmp_path_factory):
    d = tmp_path_factory.mktemp("control")
    run(["dpkg-deb", "-e", str(DEB), str(d)])
    return d


def test_every_file_is_in_the_package(contents):
    missing = [f for f in EVERY_FILE if f not in contents]
    assert not missing, f"not in {DEB.name}: {missing}"


def test_no_test_only_file_is_in_the_package(contents):
    # test builds' programs and the appliance image's test agent never ship
    bad = [f for f in contents if re.search(r"(^|/)(rk-zero|vm-[a-z]+|bench-[a-z-]+|test-[a-z-]+)$", f)
           or "/tests/" in f or "agent" in f]
    assert not bad, bad


def test_modes(contents):
    for f in BINARIES:
        assert contents[f][:2] == ("-rwxr-xr-x", "root/root"), (f, contents[f])
    for f in HOOKS:
        assert contents[f][0] == "-rwxr-xr-x", (f, contents[f])
    for f in ("usr/lib/resetkit/factory-passwords/root", "usr/lib/resetkit/factory-passwords/admin"):
        assert contents[f][:2] == ("-rw-------", "root/root"), (f, contents[f])
    for f in ["lib/systemd/system/" + u for u in UNITS] + DROPINS + ["etc/resetkit/resetd.conf"]:
        assert contents[f][:2] == ("-rw-r--r--", "root/root"), (f, contents[f])


def test_conffiles(control):
    assert (control / "conffiles").read_text().split() == ["/etc/resetkit/resetd.conf"]


def test_initramfs_trigger(control):
    lines = [ln.strip() for ln in (control / "triggers").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert lines == ["activate-noawait update-initramfs"]


def test_dependencies(control):
    fields = run(["dpkg-deb", "-f", str(DEB), "Depends", "Recommends"])
    depends = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
    # loaded with dlopen(): dh_shlibdeps cannot see them
    assert "libssl3" in depends and "libsystemd0" in depends, depends
    for lib in ("libinih1", "libjson-c5", "libevdev2", "libc6"):
        assert lib in depends, depends
    assert re.search(r"^Recommends: initramfs-tools \| dracut$", fields, re.M), fields


def test_maintainer_scripts_enable_units_and_start_only_resetd(control):
    postinst = (control / "postinst").read_text()
    for unit in UNITS:
        assert f"deb-systemd-helper enable '{unit}'" in postinst, unit
    scripts = {n: (control / n).read_text() for n in ("preinst", "postinst", "prerm", "postrm")
               if (control / n).exists()}
    started = set()
    for name, text in scripts.items():
        for line in text.splitlines():
            if re.search(r"deb-systemd-invoke|systemctl", line) and \
                    re.search(r"\b(start|restart|try-restart|reload-or-restart)\b|\$_dh_action", line):
                started |= set(re.findall(r"[\w-]+\.service", line))
                assert "reset-failsafe" not in line, f"{name} starts the fail-safe: {line}"
    assert started == {u for u, (_, s) in UNITS.items() if s}, started
    assert not re.search(r"systemctl[^\n]*\bstart\b[^\n]*reset-failsafe", "\n".join(scripts.values()))


def test_postrm_purge_removes_config_and_state(control):
    postrm = (control / "postrm").read_text()
    assert re.search(r'"\$1" = "?purge"?.*\n\s*rm -rf /etc/resetkit /var/lib/resetkit /var/log/resetkit',
                     postrm), postrm


def test_resetd_rpath_is_its_private_module_directory(tmp_path):
    run(["dpkg-deb", "-x", str(DEB), str(tmp_path)])
    dyn = run(["readelf", "-d", str(tmp_path / "usr/sbin/resetd")])
    paths = re.findall(r"\((?:RPATH|RUNPATH)\).*\[(.*)\]", dyn)
    assert paths == [f"/usr/lib/{TRIPLET}/resetkit"], dyn
    assert (tmp_path / ACTIONS).is_file()
    for b in BINARIES:
        flags = run(["readelf", "-d", str(tmp_path / b)])
        assert re.search(r"FLAGS_1.*\bNOW\b.*\bPIE\b", flags), (b, "not hardened: no BIND_NOW/PIE")


# ---- install, remove, purge in a chroot -------------------------------------

def host_sources():
    """The machine's own apt sources: the files, passed to mmdebstrap as they
    are (no mirror named here)."""
    files = []
    if os.path.isfile("/etc/apt/sources.list") and \
            re.search(r"^\s*deb\s", Path("/etc/apt/sources.list").read_text(), re.M):
        files.append("/etc/apt/sources.list")
    files += sorted(glob.glob("/etc/apt/sources.list.d/*.list") + glob.glob("/etc/apt/sources.list.d/*.sources"))
    assert files, "no apt sources on this machine"
    return files


def chroot_packages():
    """initramfs-tools (the trigger's other end), systemd (systemctl
    is-enabled), and the package's dependencies, so that installing the .deb
    needs no download."""
    depends = run(["dpkg-deb", "-f", str(DEB), "Depends"])
    pkgs = {"initramfs-tools", "systemd"}
    for dep in depends.split(","):
        first = dep.split("|")[0].strip()
        pkgs.add(re.sub(r"\s*\(.*\)", "", first))
    return sorted(pkgs)


@pytest.fixture(scope="module")
def chroot_tarball():
    sources = host_sources()
    pkgs = chroot_packages()
    key = hashlib.sha256("\n".join(pkgs + [Path(s).read_text() for s in sources]).encode()).hexdigest()[:16]
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"bookworm-{key}.tar"
    if not tarball.exists():
        for old in CACHE.glob("bookworm-*.tar*"):
            old.unlink()
        tmp = tarball.with_suffix(".tar.part")
        run(["mmdebstrap", "--quiet", "--variant=apt", "--format=tar", "--include=" + ",".join(pkgs),
             "bookworm", str(tmp)] + sources, timeout=900)
        tmp.rename(tarball)
    return tarball


class Chroot:
    def __init__(self, root):
        self.root = root

    def sh(self, script, check=True):
        """script in the chroot, with its own /proc in a private mount namespace"""
        p = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
             'mount -t proc proc "$1/proc" && exec chroot "$1" /bin/sh -c "$2"', "sh", str(self.root), script],
            capture_output=True, text=True, timeout=600,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
                 "LC_ALL": "C.UTF-8"})
        if check:
            assert p.returncode == 0, f"in the chroot: {script}\nexit {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    def path(self, rel):
        return self.root / rel.lstrip("/")

    def initramfs_calls(self):
        log = self.path("/tmp/update-initramfs.calls")
        return log.read_text().splitlines() if log.exists() else []

    def resetkit_links(self):
        """symlinks under /etc/systemd that name a resetkit unit or dangle"""
        found = []
        for dirpath, dirnames, filenames in os.walk(self.path("/etc/systemd")):
            for n in dirnames + filenames:
                p = Path(dirpath) / n
                if p.is_symlink():
                    target = os.readlink(p)
                    if n in UNITS or os.path.basename(target) in UNITS:
                        found.append(str(p.relative_to(self.root)))
        return sorted(found)


@pytest.fixture(scope="module")
def chroot(chroot_tarball):
    with tempfile.TemporaryDirectory(prefix="resetkit-pkgtest.") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        run(["tar", "-xpf", str(chroot_tarball), "-C", str(root), "--numeric-owner"])
        c = Chroot(root)
        # update-initramfs replaced by a stub that logs how it was called
        c.sh("dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs && "
             "printf '#!/bin/sh\\necho \"$*\" >>/tmp/update-initramfs.calls\\n' >/usr/sbin/update-initramfs && "
             "chmod 0755 /usr/sbin/update-initramfs")
        # no /dev/pts in the chroot.  (It has no package lists either: apt
        # can only use what is installed, nothing is downloaded.)
        (root / "etc/apt/apt.conf.d/99resetkit-test").write_text('Dpkg::Use-Pty "false";\n')
        shutil.copy(DEB, root / "tmp" / DEB.name)
        yield c
        # nothing may stay mounted under the tree before it is removed
        with open("/proc/self/mountinfo") as f:
            assert str(root) not in f.read(), "a mount was left under the chroot"


@pytest.fixture(scope="module")
def installed(chroot):
    """the package installed with apt; its file list"""
    p = chroot.sh(f"apt-get install -y /tmp/{DEB.name}")
    files = chroot.sh("dpkg -L resetkit").stdout.split()
    return p.stdout + p.stderr, files


def test_install_runs_the_initramfs_trigger(chroot, installed):
    out, _ = installed
    assert "Processing triggers for initramfs-tools" in out, out
    assert chroot.initramfs_calls() == ["-u"], chroot.initramfs_calls()


def test_install_puts_every_file_in_place(chroot, installed):
    _, files = installed
    for f in EVERY_FILE:
        assert "/" + f in files, f
        assert chroot.path(f).exists(), f
    st = chroot.path("usr/lib/resetkit/factory-passwords/root").stat()
    assert (st.st_mode & 0o777, st.st_uid) == (0o600, 0)


def test_install_enables_the_units(chroot, installed):
    for unit, (target, _) in UNITS.items():
        link = chroot.path(f"/etc/systemd/system/{target}.wants/{unit}")
        assert link.is_symlink(), f"{unit} not enabled: no {link}"
        assert os.readlink(link) == f"/lib/systemd/system/{unit}"
        state = chroot.sh(f"systemctl is-enabled {unit}", check=False).stdout.strip()
        assert state == "enabled", (unit, state)


def test_installed_programs_run(chroot, installed):
    # shared libraries resolve in a plain bookworm (RPATH, dlopen'd libcrypto)
    out = chroot.sh("resetd --check-config && reset-failsafe --check-config && "
                    "resetctl --help >/dev/null && echo ok").stdout
    assert out.strip().endswith("ok"), out


def test_remove_then_purge_leaves_nothing(chroot, installed):
    _, files = installed
    # state and configuration the programs and the administrator made
    chroot.sh("mkdir -p /var/lib/resetkit/config /var/log/resetkit /etc/resetkit/factory-reset.d && "
              "echo '{}' >/var/lib/resetkit/config/running.json && echo x >/var/log/resetkit/factory-reset.log && "
              "echo '# local' >/etc/resetkit/factory-reset.d/local.conf && "
              "echo '# changed' >>/etc/resetkit/resetd.conf")
    calls = len(chroot.initramfs_calls())

    out = chroot.sh("apt-get remove -y resetkit")
    assert "Processing triggers for initramfs-tools" in out.stdout + out.stderr
    assert chroot.initramfs_calls()[calls:] == ["-u"], "remove did not rebuild the initramfs"
    for f in BINARIES + HOOKS + DROPINS + ["lib/systemd/system/" + u for u in UNITS]:
        assert not chroot.path(f).exists(), f"{f} left after remove"
    assert chroot.path("/etc/resetkit/resetd.conf").exists(), "remove must keep the configuration"

    chroot.sh("apt-get purge -y resetkit")
    status = chroot.sh("dpkg-query -W -f '${Status}' resetkit", check=False).stdout
    assert "installed" not in status.replace("not-installed", ""), status
    assert chroot.sh("dpkg -L resetkit", check=False).returncode != 0
    left = [f for f in files if f not in ("/.", "/etc", "/lib", "/usr", "/var") and chroot.path(f).exists()
            and not chroot.path(f).is_dir()]
    assert not left, f"left after purge: {left}"
    for d in ("/etc/resetkit", "/var/lib/resetkit", "/var/log/resetkit", "/usr/lib/resetkit",
              f"/usr/lib/{TRIPLET}/resetkit", "/usr/lib/dracut/modules.d/90resetkit",
              "/usr/share/doc/resetkit"):
        assert not chroot.path(d).exists(), f"{d} left after purge"
    assert chroot.resetkit_links() == [], chroot.resetkit_links()
    helper = chroot.path("/var/lib/systemd/deb-systemd-helper-enabled")
    leftovers = [str(p) for p in helper.rglob("*") if any(u in p.name for u in UNITS)] if helper.exists() else []
    assert not leftovers, leftovers


def test_reinstall_after_purge_enables_again(chroot, installed):
    chroot.sh("dpkg --purge resetkit")      # a no-op after the test above
    chroot.sh(f"apt-get install -y /tmp/{DEB.name}")
    for unit, (target, _) in UNITS.items():
        assert chroot.path(f"/etc/systemd/system/{target}.wants/{unit}").is_symlink(), unit
    assert chroot.path("/etc/resetkit/resetd.conf").read_text().find("# changed") < 0, \
        "purge kept the changed conffile"
