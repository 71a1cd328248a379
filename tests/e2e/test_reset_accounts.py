"""End-to-end tests of step 4 of the factory reset (accounts) on --root
trees: what is a warning and what is refused in preflight (reset-password
users the target lacks, factory hashes that are not crypt(5) hashes), the
home rule (under the home base, whoever owns it, never a remaining
account's), Debian's /var/backups/*.bak copies, and every RK_FAIL point of
accounts.c failing once, then a resume."""
import json
import os
import shutil
from pathlib import Path

import pytest

from rkreset import (FACTORY_ADMIN_HASH, FACTORY_ROOT_HASH, FAULT_INJECTION, build_ssr_root,
                     fail_point_names, run, snapshot, write)

RESET = ["factory-reset", "--yes", "--no-zeroize", "--then", "none"]
SSR_CONF = "usr/lib/resetkit/factory-reset.d/ssr.conf"
ADMIN_HASH_FILE = "usr/lib/resetkit/factory-passwords/admin"


def db(root, name):
    """{name: fields} of a colon file."""
    return {l.split(":")[0]: l.split(":") for l in (Path(root) / name).read_text().splitlines()
            if ":" in l and not l.startswith("#")}


def drop_lines(root, rel, name):
    p = Path(root) / rel
    st = os.stat(p)
    p.write_text("".join(l for l in p.read_text().splitlines(True) if l.split(":")[0] != name))
    os.chown(p, st.st_uid, st.st_gid)
    os.chmod(p, st.st_mode & 0o7777)


def add_user(root, name, uid, home, gid=None, in_group=True):
    gid = uid if gid is None else gid
    for f in ("etc/passwd", "etc/passwd-"):
        with open(Path(root) / f, "a") as fh:
            fh.write(f"{name}:x:{uid}:{gid}::{home}:/bin/sh\n")
    for f in ("etc/shadow", "etc/shadow-"):
        with open(Path(root) / f, "a") as fh:
            fh.write(f"{name}:$6$old${name}SECRET:19000:0:99999:7:::\n")
    if in_group:
        for f in ("etc/group", "etc/group-"):
            with open(Path(root) / f, "a") as fh:
                fh.write(f"{name}:x:{gid}:\n")


def ssr_line(root, needle):
    """The 1-based line of the shipped manifest that contains needle."""
    for i, l in enumerate((Path(root) / SSR_CONF).read_text().splitlines(), 1):
        if needle in l:
            return i
    raise AssertionError(needle)


def log_text(root):
    return (Path(root) / "var/log/resetkit/factory-reset.log").read_text()


# ---- 1. reset-password: a missing user is a warning, a bad hash is refused --


def test_missing_reset_password_user_is_a_warning(tmp_path):
    r = build_ssr_root(tmp_path / "root")
    for f in ("etc/passwd", "etc/passwd-", "etc/shadow", "etc/shadow-", "etc/group", "etc/group-"):
        drop_lines(r, f, "admin")
    # preflight (dry run): a warning naming the user, not a refusal
    p = run(["--json", "factory-reset", "--dry-run", "--no-zeroize"], root=r, check=0)
    assert "admin" in p.stderr and "no such user" in p.stderr
    steps = json.loads(p.stdout)["steps"]
    adm = [s for s in steps if s["action"] == "reset-password" and s["path"] == "admin"][0]
    assert adm.get("skipped") == "no such user"
    # the run finishes, the other passwords are reset
    p = run(RESET, root=r)
    assert p.returncode == 0, p.stderr[-2000:]
    sh = db(r, "etc/shadow")
    assert sh["root"][1] == FACTORY_ROOT_HASH and sh["t128"][1] == FACTORY_ROOT_HASH
    assert "admin" not in sh and "admin" not in db(r, "etc/passwd")
    assert "alice" not in sh and not (r / "home/alice").exists()
    assert "skipped: no such user" in log_text(r)
    assert not (r / "var/lib/resetkit/factory-reset.journal").exists()
    assert run(["status"], root=r, check=0).stdout.startswith("factory reset: complete")


def test_user_without_shadow_line_gets_the_factory_hash(tmp_path):
    # in passwd but not in shadow: the factory password still applies
    r = build_ssr_root(tmp_path / "root")
    for f in ("etc/shadow", "etc/shadow-"):
        drop_lines(r, f, "admin")
    run(RESET, root=r, check=0)
    sh = db(r, "etc/shadow")
    assert sh["admin"][1] == FACTORY_ADMIN_HASH and sh["admin"][2] == "0"
    assert (r / "etc/shadow-").read_text() == (r / "etc/shadow").read_text()


BAD_HASHES = [
    "not-a-hash",
    "!",
    "*",
    "",
    "$6$salt$tooshort",
    "$6$saltsalt",                         # a setting, no hash
    "abcdefghijklm",                       # DES: not told apart from a 13-letter password
    "$6$salt$" + "a" * 85 + "!",           # outside the crypt alphabet
    "$2b$04$" + "a" * 52,                  # bcrypt one short
    "$y$j9T$salt$" + "a" * 42,             # yescrypt one short
    "$sha1$1$salt$" + "a" * 28,            # not one of the accepted methods
    FACTORY_ADMIN_HASH + "\nsecond line",  # one hash per file
]


@pytest.mark.parametrize("bad", BAD_HASHES)
def test_bad_factory_hash_refused_before_anything_changes(tmp_path, bad):
    r = build_ssr_root(tmp_path / "root")
    write(r, ADMIN_HASH_FILE, bad + "\n", 0o600)
    before = snapshot(r)
    for args in (["factory-reset", "--dry-run", "--no-zeroize"], RESET):
        p = run(args, root=r)
        assert p.returncode == 6, f"{args}: rc {p.returncode}\n{p.stderr[-2000:]}"
        assert f"ssr.conf:{ssr_line(r, 'reset-password admin')}" in p.stderr, p.stderr[-2000:]
        assert "/" + ADMIN_HASH_FILE in p.stderr
        assert "crypt" in p.stderr
        assert snapshot(r) == before


@pytest.mark.parametrize("hashline", ["!", "*", "abcdefghijklm"])
def test_bad_inline_hash_refused_in_preflight(tmp_path, hashline):
    r = build_ssr_root(tmp_path / "root")
    write(r, "etc/resetkit/factory-reset.d/zz-test.conf", f"# site\nreset-password root {hashline}\n")
    before = snapshot(r)
    p = run(RESET, root=r)
    assert p.returncode in (2, 6), p.stderr[-2000:]
    assert "zz-test.conf:2" in p.stderr
    assert snapshot(r) == before


GOOD_HASHES = [
    "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
    "$gy$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
    "$7$CU..../....2KtPB1E5IbvdSTDm8Q/MM0$" + "y" * 43,
    "$2b$12$" + "A" * 53,
    "$5$rounds=5000$salt$" + "b" * 43,
    "$1$saltsalt$" + "c" * 22,
]


@pytest.mark.parametrize("good", GOOD_HASHES)
def test_every_crypt_method_accepted(tmp_path, good):
    r = build_ssr_root(tmp_path / "root")
    write(r, ADMIN_HASH_FILE, good + "\n", 0o600)
    run(RESET, root=r, check=0)
    assert db(r, "etc/shadow")["admin"][1] == good


# ---- 2. the home rule -------------------------------------------------------


def test_root_owned_home_and_mail_spool_removed(tmp_path):
    r = build_ssr_root(tmp_path / "root")
    # chroot-SFTP: the home is root's, the files inside are the user's
    os.chown(r / "home/alice", 0, 0)
    os.chmod(r / "home/alice", 0o755)
    for rel in ("home/alice/.ssh/id_ed25519", "home/alice/upload/customer.db"):
        os.lchown(write(r, rel, "SECRET", 0o600), 1000, 1000)
    os.chown(r / "home/alice/upload", 1000, 1000)
    os.lchown(write(r, "home/alice/README", "root's file in alice's home"), 0, 0)
    os.lchown(r / "var/mail/bob", 0, 8)
    # a manifest without the generic /home/*/.ssh removal: step 4 alone must do it
    conf = r / SSR_CONF
    conf.write_text("".join(l for l in conf.read_text().splitlines(True) if "/home/" not in l))
    run(RESET, root=r, check=0)
    assert not (r / "home/alice").exists()
    assert not (r / "var/mail/bob").exists() and not (r / "var/mail/alice").exists()
    assert (r / "home").is_dir() and (r / "home/big/.profile").exists()


def test_homes_kept_by_the_rule(tmp_path):
    r = build_ssr_root(tmp_path / "root")
    # the home base itself
    add_user(r, "carl", 1002, "/home")
    # outside the base, owned by the user
    add_user(r, "dave", 1003, "/srv/dave")
    os.lchown(write(r, "srv/dave/data", "dave's"), 1003, 1003)
    os.chown(r / "srv/dave", 1003, 1003)
    # shared with an account that stays (UID below 1000)
    add_user(r, "svc", 990, "/home/shared")
    add_user(r, "erin", 1004, "/home/shared/")
    os.lchown(write(r, "home/shared/erin-file", "x"), 1004, 1004)
    # a remaining account's home inside it
    add_user(r, "gina", 1006, "/home/gina")
    add_user(r, "svc2", 991, "/home/gina/svc2")
    write(r, "home/gina/svc2/state", "svc2 state")
    os.lchown(write(r, "home/gina/.history", "gina"), 1006, 1006)
    # spelled with slashes and "." : still under /home
    add_user(r, "frank", 1005, "//home/./frank//")
    os.lchown(write(r, "home/frank/secret", "frank"), 1005, 1005)
    # ".." never
    add_user(r, "hank", 1007, "/home/../etc")
    run(RESET, root=r, check=0)
    pw = db(r, "etc/passwd")
    for u in ("carl", "dave", "erin", "gina", "frank", "hank"):
        assert u not in pw, u
    assert (r / "home").is_dir() and (r / "home/big/.profile").exists()
    assert (r / "srv/dave/data").exists()
    assert (r / "home/shared/erin-file").exists()
    assert (r / "home/gina/svc2/state").exists() and (r / "home/gina/.history").exists()
    assert not (r / "home/frank").exists()
    assert (r / "etc/hostname").exists()
    log = log_text(r)
    assert "/srv/dave" in log and "/home/shared" in log and "/home/gina" in log


def test_home_base_from_useradd_defaults(tmp_path):
    r = build_ssr_root(tmp_path / "root")
    write(r, "etc/default/useradd", "# useradd defaults\nSHELL=/bin/sh\nHOME=/srv/users\n")
    add_user(r, "ivan", 1008, "/srv/users/ivan")
    write(r, "srv/users/ivan/secret", "ivan's")  # root-owned: removed all the same
    run(RESET, root=r, check=0)
    assert not (r / "srv/users/ivan").exists() and (r / "srv/users").is_dir()
    # /home is no longer the base: alice's home there stays, and says why
    assert (r / "home/alice/.profile").exists()
    assert "/home/alice" in log_text(r)


def test_bad_useradd_home_refused_in_preflight(tmp_path):
    r = build_ssr_root(tmp_path / "root")
    write(r, "etc/default/useradd", "SHELL=/bin/sh\nHOME=home\n")
    before = snapshot(r)
    p = run(RESET, root=r)
    assert p.returncode == 6, p.stderr[-2000:]
    assert "etc/default/useradd:2" in p.stderr
    assert snapshot(r) == before


# ---- 3. /var/backups/*.bak ---------------------------------------------------


def make_var_backups(r, names=("passwd", "shadow", "group", "gshadow")):
    modes = {"passwd": (0o644, 0), "group": (0o644, 0), "shadow": (0o600, 42), "gshadow": (0o640, 42)}
    for n in names:
        # an older copy: also holds a user deleted since, with his hash
        text = (r / "etc" / n).read_text()
        if n in ("passwd", "shadow"):
            text += {"passwd": "olduser:x:1500:1500::/home/olduser:/bin/sh\n",
                     "shadow": "olduser:$6$old$olduserSECRET:18000:0:99999:7:::\n"}[n]
        p = write(r, f"var/backups/{n}.bak", text, modes[n][0])
        os.chown(p, 0, modes[n][1])
    return modes


def test_var_backups_rewritten(tmp_path):
    r = build_ssr_root(tmp_path / "root")
    modes = make_var_backups(r, ("passwd", "shadow", "group"))  # no gshadow.bak
    run(RESET, root=r, check=0)
    for n in ("passwd", "shadow", "group"):
        b = r / f"var/backups/{n}.bak"
        text = b.read_text()
        assert text == (r / "etc" / n).read_text(), n
        for secret in ("alice", "bob", "SECRET", "oldhash", "olduser"):
            assert secret not in text, (n, secret)
        st = os.stat(b)
        assert (st.st_mode & 0o7777, st.st_gid) == modes[n], n
    assert not (r / "var/backups/gshadow.bak").exists()
    assert db(r, "var/backups/shadow.bak")["root"][1] == FACTORY_ROOT_HASH
    assert not [n for n in os.listdir(r / "var/backups") if n.startswith(".#")]


def test_var_backups_symlink_refused(tmp_path):
    r = build_ssr_root(tmp_path / "root")
    make_var_backups(r, ("passwd",))
    write(tmp_path, "outside/shadow", "not yours\n")
    os.symlink("../../../outside/shadow", r / "var/backups/shadow.bak")
    before = snapshot(r)
    p = run(RESET, root=r)
    assert p.returncode == 6, p.stderr[-2000:]
    assert "var/backups/shadow.bak" in p.stderr and "symlink" in p.stderr
    assert snapshot(r) == before
    assert (tmp_path / "outside/shadow").read_text() == "not yours\n"


# ---- 6. every failure point of accounts.c fails once, then --resume ------------


def accounts_fail_points():
    return sorted(n for n in fail_point_names() if n.startswith("accounts:"))


def full_root(path):
    r = build_ssr_root(path)
    make_var_backups(r)
    os.chown(r / "home/alice", 0, 0)
    return r


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs a -Dfault-injection=true build")
def test_every_accounts_failure_then_resume(tmp_path):
    names = accounts_fail_points()
    assert {"accounts:open", "accounts:write", "accounts:rm-home"} <= set(names), names
    ref = full_root(tmp_path / "ref")
    trace = tmp_path / "trace"
    run(RESET, root=ref, check=0, env={"RESETKIT_FAULT_TRACE": str(trace)})
    # the store's index and the status record carry times
    skip = ("var/log/resetkit", "var/lib/resetkit/config", "var/lib/resetkit/factory-reset.status", "tmp")
    want = snapshot(ref, skip=skip)
    counts = {}
    for n in trace.read_text().split():
        if n in names:
            counts[n] = counts.get(n, 0) + 1
    assert set(counts) == set(names), f"points never reached: {set(names) - set(counts)}"
    failures = []
    i = 0
    for name, n in sorted(counts.items()):
        for k in range(1, n + 1):
            r = full_root(tmp_path / f"case{i}")
            i += 1
            pristine = snapshot(r, skip=("var/lib/resetkit", "tmp"))
            p = run(RESET, root=r, env={"RESETKIT_FAIL": f"{name}:{k}"})
            case = f"{name}:{k}"
            if p.returncode == 6:
                # failed in preflight: nothing may have changed
                if snapshot(r, skip=("var/lib/resetkit", "tmp")) != pristine:
                    failures.append(f"{case}: refused in preflight but changed the tree")
                p = run(RESET, root=r)
            elif p.returncode == 1:
                if "accounts" not in p.stderr:
                    failures.append(f"{case}: the failure does not name the step")
                # the databases stay consistent: root is still there
                if "root" not in db(r, "etc/passwd") or "root" not in db(r, "etc/shadow"):
                    failures.append(f"{case}: passwd/shadow inconsistent after the failure")
                p = run(["factory-reset", "--resume"], root=r)
            else:
                failures.append(f"{case}: rc {p.returncode}, want 1 (failed) or 6 (refused)")
                continue
            if p.returncode != 0:
                failures.append(f"{case}: the re-run failed, rc {p.returncode}: {p.stderr[-400:]}")
                continue
            got = snapshot(r, skip=skip)
            if got != want:
                diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
                failures.append(f"{case}: result differs: {diff[:8]}")
            shutil.rmtree(r)
    assert not failures, "\n".join(failures)
