"""`meson install` puts every file where the programs look for it: a
DESTDIR install is itself a root that `resetctl --root` can plan a factory
reset on (manifest, factory password files, factory configuration) and
whose units name the installed binaries."""
import json
import shutil
import subprocess

import pytest

from rkreset import BUILD, run, write

ACCOUNTS = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/bash\nadmin:x:998:998::/home/admin:/bin/bash\n"
                  "t128:x:999:999::/home/t128:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
    "etc/shadow": "root:$6$a$b:19000:0:99999:7:::\nadmin:$6$a$b:19000:0:99999:7:::\n"
                  "t128:$6$a$b:19000:0:99999:7:::\nalice:$6$a$b:19000:0:99999:7:::\n",
    "etc/group": "root:x:0:\nadmin:x:998:\nt128:x:999:\nalice:x:1000:\n",
    "etc/gshadow": "root:*::\nalice:!::\n",
}


def build_option(name):
    opts = json.loads(subprocess.run(["meson", "introspect", "--buildoptions", str(BUILD)],
                                     capture_output=True, text=True, check=True).stdout)
    return [o["value"] for o in opts if o["name"] == name][0]


def test_installed_tree_is_a_working_root(tmp_path):
    if build_option("prefix") != "/usr":
        pytest.skip("build configured with another --prefix; the layout checked is the default /usr")
    dest = tmp_path / "dest"
    p = subprocess.run(["meson", "install", "-C", str(BUILD), "--no-rebuild", "--quiet",
                        "--destdir", str(dest)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    for rel in ("usr/sbin/resetctl", "usr/sbin/resetd", "usr/sbin/reset-failsafe",
                "etc/resetkit/resetd.conf", "usr/lib/resetkit/factory-config.json",
                "usr/lib/resetkit/factory-reset.d/ssr.conf",
                "usr/share/man/man8/resetctl.8", "usr/share/man/man5/resetkit-factory-reset.d.5",
                "usr/lib/modules-load.d/resetkit.conf", "usr/lib/systemd/logind.conf.d/resetkit.conf"):
        assert (dest / rel).exists(), rel
    assert oct((dest / "usr/lib/resetkit/factory-passwords/root").stat().st_mode & 0o777) == "0o600"
    # resetd loads rescue and factory reset from its private module, found
    # through its RUNPATH (no build-tree path left in it)
    libdir = build_option("libdir")
    assert (dest / "usr" / libdir / "resetkit/resetd-actions.so").exists()
    dyn = subprocess.run(["readelf", "-d", str(dest / "usr/sbin/resetd")], capture_output=True, text=True,
                         check=True).stdout
    assert f"path: [/usr/{libdir}/resetkit]" in dyn, dyn
    for unit in ("resetd", "resetkit-resume", "reset-failsafe", "resetkit-cryptvol"):
        text = (dest / f"lib/systemd/system/{unit}.service").read_text()
        exe = [l.split("=", 1)[1].split()[0] for l in text.splitlines() if l.startswith("ExecStart=")][0]
        assert (dest / exe.lstrip("/")).exists(), f"{unit}: {exe} is not installed"
    for rel, text in ACCOUNTS.items():
        write(dest, rel, text, 0o640 if "shadow" in rel else 0o644)
    # the installed default config parses, and the shipped manifest plans
    # (its password files and factory configuration found in place)
    run(["--root", str(dest), "--version"], check=0)
    p = subprocess.run([str(dest / "usr/sbin/resetd"), "--root", str(dest), "--check-config"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    p = run(["factory-reset", "--dry-run", "--no-zeroize"], root=dest, check=0)
    assert "reset-password admin" in p.stdout and "alice" in p.stdout


def test_installed_units_and_man_pages_are_valid(tmp_path):
    if build_option("prefix") != "/usr":
        pytest.skip("build configured with another --prefix")
    dest = tmp_path / "dest"
    subprocess.run(["meson", "install", "-C", str(BUILD), "--no-rebuild", "--quiet", "--destdir", str(dest)],
                   check=True, capture_output=True)
    units = sorted((dest / "lib/systemd/system").glob("*.service"))
    assert len(units) >= 4
    if shutil.which("systemd-analyze"):
        checked = tmp_path / "units"
        checked.mkdir()
        for u in units:
            text = u.read_text()
            # verify looks at ExecStart's binary: point it into the install
            text = text.replace("ExecStart=/usr/sbin/", f"ExecStart={dest}/usr/sbin/")
            (checked / u.name).write_text(text)
        for u in sorted(checked.iterdir()):
            r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(u)], capture_output=True, text=True)
            problems = [l for l in r.stderr.splitlines() if u.name in l]
            assert not problems, r.stderr
    if shutil.which("groff"):
        for page in sorted((dest / "usr/share/man").rglob("*.[58]")):
            r = subprocess.run(["groff", "-man", "-ww", "-z", str(page)], capture_output=True, text=True)
            assert r.returncode == 0 and r.stderr == "", f"{page.name}: {r.stderr}"
