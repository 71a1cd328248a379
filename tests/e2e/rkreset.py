"""Helpers for the factory-reset end-to-end tests: a realistic SSR-like
root built in a temp dir, tree snapshots, and running the real resetctl."""
import os
import re
import shutil
import subprocess
from pathlib import Path

from rktree import snapshot  # noqa: F401  (re-exported for the tests)

BUILD = Path(os.environ.get("RESETKIT_BUILD_DIR", "build-test"))
SRC = Path(os.environ.get("RESETKIT_SRC_DIR", Path(__file__).resolve().parents[2]))
RESETCTL = BUILD / "src" / "resetctl" / "resetctl"
FAULT_INJECTION = os.environ.get("RESETKIT_FAULT_INJECTION") == "1"

FACTORY_ROOT_HASH = "$6$factorysalt$" + "r" * 86
FACTORY_ADMIN_HASH = "$6$adminsalt$" + "a" * 86

# Secrets planted by the tree builder: every one must be gone after a reset.
SECRET_FILES = [
    "var/lib/128technology/t128-running.json",
    "var/lib/128technology/user-running.json",
    "etc/128technology/global.init",
    "etc/128technology/local.init",
    "etc/128technology/salt/pki/minion/minion.pem",
    "etc/128technology/salt/pki/minion/minion.pub",
    "etc/pki/128technology/router.key",
    "var/lib/influxdb/data/t128/autogen/1/000000001-000000001.tsm",
    "var/lib/influxdb/wal/t128/autogen/1/_00001.wal",
    "var/log/128technology/highway.log",
    "var/log/128technology/highway.log.1.gz",
    "var/log/syslog",
    "var/log/auth.log",
    "etc/ssh/ssh_host_ed25519_key",
    "etc/ssh/ssh_host_rsa_key",
    "home/alice/.ssh/id_ed25519",
    "home/bob/.bash_history",
    "etc/ipsec.secrets",
    "etc/raddb/clients.conf",
    "etc/tacacs+/tac_plus.conf",
]

KEPT_FILES = [
    "usr/bin/t128-tool",
    "etc/hostname",
    "etc/os-release",
    "usr/lib/resetkit/factory-config.json",
]

PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment the editor must keep
t128:x:999:999:128T service:/home/t128:/bin/bash
admin:x:998:998:admin:/home/admin:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/bash
bob:x:1001:1001:Bob:/home/bob:/bin/bash
big:x:70000:70000:above UID_MAX:/home/big:/bin/sh
"""
SHADOW = """root:$6$old$rootoldhash:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
t128:$6$old$t128oldhash:19000:0:99999:7:::
admin:$6$old$adminoldhash:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
alice:$6$old$aliceSECRET:19000:0:99999:7:::
bob:$6$old$bobSECRET:19000:0:99999:7:::
big:$6$old$bigkeep:19000:0:99999:7:::
"""
GROUP = """root:x:0:
daemon:x:1:
adm:x:4:alice,admin
sudo:x:27:alice,bob
t128:x:999:
admin:x:998:
nogroup:x:65534:
alice:x:1000:
bob:x:1001:
big:x:70000:
"""
GSHADOW = """root:*::
adm:*::alice,admin
sudo:*::alice,bob
alice:!::
bob:!::
big:!::
"""
SUBID = "alice:100000:65536\nbob:165536:65536\n"
LOGIN_DEFS = "# login.defs\nUID_MIN 1000\nUID_MAX 60000\n"


def write(root, rel, data, mode=0o644):
    p = Path(root) / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    p.write_bytes(data)
    os.chmod(p, mode)
    return p


def install_manifest(root, extra_conf=None):
    d = Path(root) / "usr/lib/resetkit/factory-reset.d"
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(SRC / "data/factory-reset.d/ssr.conf", d / "ssr.conf")
    # the hash files the shipped manifest names with @FILE
    for line in (d / "ssr.conf").read_text().splitlines():
        f = line.split()
        if len(f) >= 3 and f[0] == "reset-password" and f[2].startswith("@"):
            h = FACTORY_ADMIN_HASH if f[1] == "admin" else FACTORY_ROOT_HASH
            write(root, f[2][1:].lstrip("/"), h + "\n", 0o600)
    if extra_conf:
        write(root, "etc/resetkit/factory-reset.d/zz-test.conf", extra_conf)


def build_ssr_root(root, config=""):
    root = Path(root)
    for rel in SECRET_FILES:
        write(root, rel, f"SECRET-MARKER {rel}\n", 0o600)
    for rel in KEPT_FILES:
        if rel.endswith("factory-config.json"):
            write(root, rel, (SRC / "data/factory-config.json").read_text())
        else:
            write(root, rel, f"keep {rel}\n")
    # rotated factory-default XML: only the newest survives
    for i, age in enumerate([300, 200, 100]):
        p = write(root, f"etc/128technology/factory-default-{i}.xml", f"<xml {i}/>")
        os.utime(p, (1700000000 - age, 1700000000 - age))
    write(root, "var/lib/128technology/config-exports/export-1.tar.gz", "export secret")
    write(root, "var/lib/128technology/tank/state.db", "tank secret")
    write(root, "etc/passwd", PASSWD)
    write(root, "etc/shadow", SHADOW, 0o640)
    write(root, "etc/group", GROUP)
    write(root, "etc/gshadow", GSHADOW, 0o640)
    for b in ("passwd", "shadow", "group", "gshadow"):
        shutil.copy2(root / "etc" / b, root / "etc" / (b + "-"))
    write(root, "etc/subuid", SUBID)
    write(root, "etc/subgid", SUBID)
    write(root, "etc/login.defs", LOGIN_DEFS)
    for uid, u in ((1000, "alice"), (1001, "bob")):
        write(root, f"home/{u}/.profile", "profile")
        # userdel's rule: a home is removed only when the user owns it
        for dirpath, dirnames, filenames in os.walk(root / "home" / u):
            for n in [dirpath] + [os.path.join(dirpath, f) for f in dirnames + filenames]:
                os.lchown(n, uid, uid)
        os.lchown(write(root, f"var/mail/{u}", "mail secret", 0o660), uid, 8)
        os.lchown(write(root, f"var/spool/cron/crontabs/{u}", "* * * * * secret", 0o600), uid, uid)
    write(root, "home/big/.profile", "kept: above UID_MAX")
    write(root, "root/.ssh/authorized_keys", "ssh-ed25519 AAAA root-key")
    (root / "tmp").mkdir(exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    write(root, "etc/resetkit/resetd.conf", config)
    install_manifest(root)
    return root


def run(args, root=None, check=None, env=None, input=None, timeout=120):
    cmd = [str(RESETCTL)]
    if root is not None:
        cmd += ["--root", str(root)]
    cmd += list(args)
    e = dict(os.environ)
    e.pop("RESETKIT_FAULT", None)
    if env:
        e.update(env)
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=timeout,
                       input=input, stdin=None if input is not None else subprocess.DEVNULL)
    if check is not None:
        assert p.returncode == check, f"{cmd}: rc {p.returncode}\nstdout:{p.stdout}\nstderr:{p.stderr}"
    return p


def fail_point_names():
    """The names of the RK_FAIL points in the sources: a failure test drives
    them (RESETKIT_FAIL); the fault trace lists them beside the RK_FAULT
    points, and RESETKIT_FAULT kills at both."""
    names = set()
    for c in (SRC / "lib").rglob("*.c"):
        names.update(re.findall(r'RK_FAIL\("([^"]+)"\)', c.read_text()))
    return names
