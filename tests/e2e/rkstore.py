# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for end-to-end tests of the configuration store: a --root tree,
the real resetctl binary, and snapshots of the store directory."""
import os
import subprocess

from rktree import snapshot  # noqa: F401  (re-exported for the tests)

BUILD = os.environ.get("RESETKIT_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build-test"))
RESETCTL = os.path.join(BUILD, "src", "resetctl", "resetctl")
FAULT_INJECTION = os.environ.get("RESETKIT_FAULT_INJECTION") == "1"

STORE_REL = "var/lib/resetkit/config"
FACTORY_REL = "usr/lib/resetkit/factory-config.json"
FACTORY = b'{ "factory": true }\n'

# exit codes, lib/base/exitcode.h
OK, FAILURE, USAGE, INTEGRITY, BUSY, APPLY, REFUSED = 0, 1, 2, 3, 4, 5, 6


class Tree:
    """A --root tree with resetd.conf and a factory configuration."""

    def __init__(self, path, backups=5, actions=None):
        self.root = str(path)
        self.store = os.path.join(self.root, STORE_REL)
        os.makedirs(os.path.join(self.root, "etc/resetkit"), exist_ok=True)
        os.makedirs(os.path.dirname(os.path.join(self.root, FACTORY_REL)), exist_ok=True)
        with open(os.path.join(self.root, FACTORY_REL), "wb") as f:
            f.write(FACTORY)
        self.write_conf(backups, actions or {})
        self.files = os.path.join(self.root, "files")  # the user's files, outside the store
        os.makedirs(self.files, exist_ok=True)
        self.n = 0

    def write_conf(self, backups=5, actions=None):
        """resetd.conf in the tree.  With commands it is the operator's
        instead, outside the tree and passed with --config: the commands of
        a --root tree's own configuration never run on this machine."""
        lines = ["[store]", f"backups = {backups}", "[actions]"]
        for k, v in (actions or {}).items():
            lines.append(f"{k} = {v}")
        inside = os.path.join(self.root, "etc/resetkit/resetd.conf")
        self.config = os.path.join(os.path.dirname(self.root), "operator.conf") if actions else None
        with open(self.config or inside, "w") as f:
            f.write("\n".join(lines) + "\n")
        if self.config and os.path.exists(inside):
            os.unlink(inside)

    def args(self):
        return [RESETCTL, "--root", self.root] + (["--config", self.config] if self.config else [])

    def run(self, *args, env=None, timeout=60):
        e = dict(os.environ)
        e.pop("RESETKIT_FAULT", None)
        e.pop("RESETKIT_FAULT_TRACE", None)
        e.update(env or {})
        return subprocess.run([*self.args(), *args], capture_output=True, env=e, timeout=timeout)

    def popen(self, *args, env=None):
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.Popen([*self.args(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)

    def file(self, content, name=None):
        """A file to commit; content is bytes or str."""
        self.n += 1
        p = os.path.join(self.files, name or f"cfg{self.n}.json")
        with open(p, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode())
        return p

    def commit(self, content, **kw):
        r = self.run("config", "commit", self.file(content), **kw)
        assert r.returncode == OK, r.stderr.decode()
        return r

    def show(self, what="config"):
        r = self.run(what, "show")
        assert r.returncode == OK, r.stderr.decode()
        return r.stdout

    def index(self):
        import json
        with open(os.path.join(self.store, "index.json")) as f:
            return json.load(f)

    def object_path(self, name):
        """objects/<sha>.json of 'running', 'rescue' or 'backup-N'."""
        idx = self.index()
        if name.startswith("backup-"):
            e = idx["backups"][int(name[7:]) - 1]
        else:
            e = idx[name]
        return os.path.join(self.store, "objects", e["sha256"] + ".json")

    def flip_bit(self, name, offset=2):
        p = self.object_path(name)
        with open(p, "r+b") as f:
            f.seek(offset)
            c = f.read(1)
            f.seek(offset)
            f.write(bytes([c[0] ^ 1]))
        return p


def objects(tree):
    d = os.path.join(tree.store, "objects")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def referenced(tree):
    idx = tree.index()
    shas = set()
    for e in [idx.get("running"), idx.get("rescue"), *idx.get("backups", [])]:
        if e:
            shas.add(e["sha256"] + ".json")
    return sorted(shas)
