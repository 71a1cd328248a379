# SPDX-License-Identifier: GPL-2.0-or-later
"""The modules against the real resetctl of the build on --root trees under
a temp dir (never this machine's /): the second run of each reports no
change, and resetctl's refusals reach the task with their exit code."""
import json
import sys

import pytest

from rkansible import RESETCTL, SRC, run_module

sys.path.insert(0, str(SRC / "tests" / "e2e"))
from rkreset import build_ssr_root, write  # noqa: E402
from rkstore import Tree  # noqa: E402

pytestmark = pytest.mark.skipif(not RESETCTL.exists(), reason=f"no {RESETCTL} (RESETKIT_BUILD_DIR)")


def mod(tmp_path, name, root, check=False, diff=False, **args):
    assert root, "never without root: that would be this machine's /"
    return run_module(tmp_path, name, dict(args, root=str(root), resetctl=str(RESETCTL)), check=check, diff=diff)


@pytest.fixture
def tree(tmp_path):
    return Tree(tmp_path / "root")


def test_commit_then_the_same_document_again(tmp_path, tree):
    rc, r = mod(tmp_path, "config", tree.root, content={"hostname": "edge-1", "ports": [1, 2]})
    assert rc == 0 and r["changed"] is True and r["previous"] is None, r
    assert json.loads(tree.show()) == {"hostname": "edge-1", "ports": [1, 2]}
    index = tree.index()
    # the same value in other words: unchanged, the store untouched
    rc, r2 = mod(tmp_path, "config", tree.root, content='{"ports":[1,2],"hostname":"edge-1"}')
    assert rc == 0 and r2["changed"] is False and r2["running"] == r["running"] == index["running"]["sha256"]
    assert tree.index() == index
    # another value: committed, the old one is backup 1
    rc, r3 = mod(tmp_path, "config", tree.root, diff=True, content={"hostname": "edge-2"})
    assert rc == 0 and r3["changed"] is True and r3["previous"] == r["running"]
    assert r3["sha256"]["backup-1"] == r["running"] and '"edge-1"' in r3["diff"]["before"]
    # and back
    rc, r4 = mod(tmp_path, "config", tree.root, state="rolled_back", backup=1)
    assert rc == 0 and r4["changed"] is True and r4["running"] == r["running"]
    rc, r5 = mod(tmp_path, "config", tree.root, state="rolled_back", backup=2)
    assert rc == 0 and r5["changed"] is False, "backup 2 is the running configuration now"


def test_check_mode_leaves_the_store_as_it_was(tmp_path, tree):
    tree.commit('{"a": 1}')
    index = tree.index()
    rc, r = mod(tmp_path, "config", tree.root, check=True, content={"a": 2})
    assert rc == 0 and r["changed"] is True and tree.index() == index
    rc, r = mod(tmp_path, "rescue", tree.root, check=True)
    assert rc == 0 and r["changed"] is True and tree.index() == index


def test_an_invalid_document_is_refused_by_resetctl(tmp_path, tree):
    tree.commit('{"a": 1}')
    index = tree.index()
    rc, r = mod(tmp_path, "config", tree.root, content="[1, 2]")
    assert rc == 1 and r["rc"] == 3 and "resetctl" in r["msg"] and tree.index() == index


def test_rescue_saved_twice_then_loaded_and_deleted(tmp_path, tree):
    tree.commit('{"a": 1}')
    rc, r = mod(tmp_path, "rescue", tree.root)
    assert rc == 0 and r["changed"] is True and r["sha256"]["rescue"] == r["sha256"]["running"]
    index = tree.index()
    rc, r = mod(tmp_path, "rescue", tree.root)
    assert rc == 0 and r["changed"] is False and tree.index() == index
    tree.commit('{"a": 2}')
    rc, r = mod(tmp_path, "rescue", tree.root, state="loaded", diff=True)
    assert rc == 0 and r["changed"] is True and json.loads(tree.show()) == {"a": 1}
    assert json.loads(r["diff"]["before"]) == {"a": 2} and json.loads(r["diff"]["after"]) == {"a": 1}
    rc, r = mod(tmp_path, "rescue", tree.root, state="loaded")
    assert rc == 0 and r["changed"] is False
    rc, r = mod(tmp_path, "rescue", tree.root, state="absent")
    assert rc == 0 and r["changed"] is True and "rescue" not in r["sha256"]
    rc, r = mod(tmp_path, "rescue", tree.root, state="absent")
    assert rc == 0 and r["changed"] is False
    rc, r = mod(tmp_path, "rescue", tree.root, state="loaded")
    assert rc == 1 and r["rc"] == 1 and "no rescue configuration" in r["msg"]


def test_factory_reset_completed_with_root_then_unchanged(tmp_path):
    root = build_ssr_root(tmp_path / "appliance")
    rc, r = mod(tmp_path, "config", root, content={"site": "secret"})
    assert rc == 0 and r["changed"] is True
    rc, plan = mod(tmp_path, "factory_reset", root, check=True, zeroize=False)
    assert rc == 0 and plan["changed"] is True and plan["plan"]["dry-run"] is True
    assert (root / "etc/ssh/ssh_host_ed25519_key").exists(), "check mode changed nothing"
    rc, r = mod(tmp_path, "factory_reset", root, zeroize=False)
    assert rc == 0 and r["changed"] is True, r
    assert r["status"]["factory_reset"] == "complete"
    assert r["certificate"]["result"] == "complete" and r["signature"] is None
    assert not (root / "etc/ssh/ssh_host_ed25519_key").exists()
    # the factory configuration is running, and nothing else is stored
    assert set(r["sha256"]) == {"running", "factory"} and r["sha256"]["running"] == r["sha256"]["factory"]
    rc, r2 = mod(tmp_path, "factory_reset", root, zeroize=False)
    assert rc == 0 and r2["changed"] is False and r2["certificate"] == r["certificate"]
    rc, info = mod(tmp_path, "info", root)
    assert rc == 0 and info["certificate"] == r["certificate"] and info["status"]["factory_reset"] == "complete"


def test_request_refused_where_nothing_would_carry_it_out(tmp_path):
    root = build_ssr_root(tmp_path / "appliance")
    rc, r = mod(tmp_path, "factory_reset", root, state="requested")
    assert rc == 1 and r["rc"] == 6 and "--at-boot" in r["msg"] and "nothing changed" in r["msg"]
    rc, r = mod(tmp_path, "factory_reset", root, check=True, state="requested")
    assert rc == 1 and r["rc"] == 6, "the dry run says so too"
    # nothing pending: cancelling changes nothing and runs nothing
    rc, r = mod(tmp_path, "factory_reset", root, state="cancelled")
    assert rc == 0 and r["changed"] is False


def test_request_and_cancel_where_the_tree_boots_with_reset_failsafe(tmp_path):
    root = build_ssr_root(tmp_path / "appliance")
    write(root, "usr/share/initramfs-tools/hooks/resetkit", "#!/bin/sh\n", 0o755)
    rc, r = mod(tmp_path, "factory_reset", root, state="requested", zeroize=False)
    assert rc == 0 and r["changed"] is True and r["status"]["factory_reset"] == "requested"
    rc, r = mod(tmp_path, "factory_reset", root, state="requested", zeroize=False)
    assert rc == 0 and r["changed"] is False
    rc, r = mod(tmp_path, "factory_reset", root, state="cancelled")
    assert rc == 0 and r["changed"] is True and r["status"]["factory_reset"] == "none"
    rc, r = mod(tmp_path, "factory_reset", root, state="cancelled")
    assert rc == 0 and r["changed"] is False
    assert (root / "etc/ssh/ssh_host_ed25519_key").exists()


def test_info_on_an_empty_store(tmp_path, tree):
    rc, r = mod(tmp_path, "info", tree.root)
    assert rc == 0 and r["changed"] is False and r["certificate"] is None
    assert [c["name"] for c in r["configurations"]] == ["factory"] and set(r["sha256"]) == {"factory"}
