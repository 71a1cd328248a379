"""The library's architecture holds (lib/README.md): lib/ has only folders,
each compiled with the include path of exactly the folders it may use, and
no file reaches across a boundary.  The build already fails on a forbidden
include; this test fails when the meson files themselves drift."""
import json
import os
import re
from pathlib import Path

BUILD = Path(os.environ.get("RESETKIT_BUILD_DIR", "build-test"))
SRC = Path(os.environ.get("RESETKIT_SRC_DIR", Path(__file__).resolve().parents[2]))

# the table of lib/README.md and lib/meson.build
ALLOWED = {
    "base": set(),
    "store": {"base"},
    "reset": {"base", "store"},
    "button": {"base"},
    "led": {"base"},
    "daemon": {"base", "button", "led"},
    "failsafe": {"base", "button", "led", "reset"},
}
# resetd-actions.so is where the daemon meets the store and the engine
EXCEPTIONS = {"daemon/resetd-actions.c": {"store", "reset"}}


def headers():
    where = {}
    for folder in ALLOWED:
        for h in (SRC / "lib" / folder).glob("*.h"):
            assert h.name not in where, f"{h.name} in both lib/{where[h.name]} and lib/{folder}"
            where[h.name] = folder
    return where


def test_lib_has_only_folders():
    loose = [p.name for p in (SRC / "lib").iterdir() if p.is_file() and p.suffix in (".c", ".h")]
    assert loose == []
    assert {p.name for p in (SRC / "lib").iterdir() if p.is_dir()} == set(ALLOWED)


def test_includes_stay_inside_the_allowed_folders():
    where = headers()
    bad = []
    for folder, allowed in ALLOWED.items():
        for f in sorted((SRC / "lib" / folder).glob("*.[ch]")):
            rel = f"{folder}/{f.name}"
            ok = allowed | {folder} | EXCEPTIONS.get(rel, set())
            for inc in re.findall(r'^#include "([^"]+)"', f.read_text(), re.M):
                if inc in where and where[inc] not in ok:
                    bad.append(f"lib/{rel} includes {inc} (lib/{where[inc]})")
    assert bad == []


def test_each_folder_is_compiled_with_its_own_include_path_only():
    cmds = json.loads((BUILD / "compile_commands.json").read_text())
    seen = set()
    for c in cmds:
        m = re.search(r"/lib/(\w+)/([\w-]+\.c)$", c["file"])
        if not m or "tests/fuzz" in c["command"]:
            continue
        folder, name = m.groups()
        seen.add(folder)
        dirs = set(re.findall(r"-I\S*?lib/(\w+)(?:\s|$)", c["command"]))
        ok = ALLOWED[folder] | {folder} | EXCEPTIONS.get(f"{folder}/{name}", set())
        assert dirs <= ok, f"lib/{folder}/{name} sees {sorted(dirs - ok)}"
        # and never the source root, through which any header is reachable
        src_root = os.path.relpath(SRC, BUILD)
        assert f"-I{src_root} " not in c["command"] + " ", f"lib/{folder}/{name} has the source root on its path"
    assert seen == set(ALLOWED)
