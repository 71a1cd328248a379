# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the tests of the Ansible collection (ansible/): the
collection where Ansible finds it, running a module the way Ansible runs
it (python3 MODULE ARGS.json with {"ANSIBLE_MODULE_ARGS": ...}), and a fake
resetctl that records its argv and answers from canned rules."""
import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(os.environ.get("RESETKIT_SRC_DIR", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("RESETKIT_BUILD_DIR", SRC / "build"))
RESETCTL = BUILD / "src" / "resetctl" / "resetctl"
COLLECTION = SRC / "ansible"
MODULES = ["config", "rescue", "factory_reset", "info"]
# the interpreter pytest runs under has ansible-core (Debian's python3)
PYTHON = sys.executable


def collection_path(tmp):
    """TMP/ansible_collections/resetkit/appliance -> ansible/; returns TMP."""
    tmp = Path(tmp)
    ns = tmp / "ansible_collections" / "resetkit"
    ns.mkdir(parents=True, exist_ok=True)
    link = ns / "appliance"
    if not link.exists():
        link.symlink_to(COLLECTION)
    return tmp


def ansible_env(tmp):
    """An environment for ansible-* commands: the collection found in TMP,
    nothing written under ~ or the source tree."""
    tmp = Path(tmp)
    home = tmp / "home"
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    e = dict(os.environ)
    e.update(ANSIBLE_COLLECTIONS_PATH=str(collection_path(tmp)), ANSIBLE_HOME=str(home / ".ansible"),
             ANSIBLE_LOCAL_TEMP=str(home / "tmp"), ANSIBLE_REMOTE_TEMP=str(home / "remote"), HOME=str(home),
             ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0", PYTHONDONTWRITEBYTECODE="1",
             ANSIBLE_PYTHON_INTERPRETER=PYTHON)
    return e


def run_module(tmp, name, args, check=False, diff=False, env=None):
    """Run plugins/modules/NAME.py as Ansible does; (exit code, result)."""
    tmp = Path(tmp)
    work = tmp / "module-tmp"
    work.mkdir(exist_ok=True)
    a = dict(args, _ansible_check_mode=check, _ansible_diff=diff, _ansible_tmpdir=str(work),
             _ansible_remote_tmp=str(work), _ansible_keep_remote_files=False)
    f = tmp / "args.json"
    f.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": a}))
    e = dict(os.environ, PYTHONPATH=str(collection_path(tmp / "collections")), PYTHONDONTWRITEBYTECODE="1")
    e.update(env or {})
    p = subprocess.run([PYTHON, str(COLLECTION / "plugins" / "modules" / (name + ".py")), str(f)],
                       capture_output=True, text=True, env=e, timeout=300, cwd=str(tmp))
    try:
        return p.returncode, json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f"{name}: no JSON result: rc {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")


FAKE = r'''#!PYTHON
import json, os, sys
d = os.path.dirname(os.path.abspath(__file__))
argv = sys.argv[1:]
# what a FILE argument held when it was called (config commit FILE)
files = {}
for x in argv:
    if os.path.isfile(x):
        files[x] = {"text": open(x).read(), "mode": oct(os.stat(x).st_mode & 0o777)}
with open(os.path.join(d, "calls.jsonl"), "a") as f:
    f.write(json.dumps({"argv": argv, "files": files}) + "\n")
a = list(argv)
while a and a[0] in ("--root", "--config", "--json"):
    a = a[1:] if a[0] == "--json" else a[2:]
rules = json.load(open(os.path.join(d, "rules.json")))
for i, r in enumerate(rules):
    if a[:len(r["cmd"])] == r["cmd"]:
        # a rule answers with its responses in turn, the last one repeated
        seen = os.path.join(d, "seen-%d" % i)
        n = int(open(seen).read()) if os.path.exists(seen) else 0
        open(seen, "w").write(str(n + 1))
        resp = r["responses"][min(n, len(r["responses"]) - 1)]
        out = resp.get("stdout", "")
        sys.stdout.write(out if isinstance(out, str) else json.dumps(out, indent=2))
        sys.stderr.write(resp.get("stderr", ""))
        sys.exit(resp.get("rc", 0))
sys.stderr.write("fake resetctl: no rule for %r\n" % (a,))
sys.exit(99)
'''


class FakeResetctl:
    """A resetctl that acts on nothing.  on(cmd, *responses): the answers
    to a command (its words after the global options), in turn."""

    def __init__(self, tmp):
        self.dir = Path(tmp) / "fake"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "resetctl"
        self.path.write_text(FAKE.replace("PYTHON", PYTHON, 1))
        self.path.chmod(0o755)
        self.rules = []
        self._save()

    def _save(self):
        (self.dir / "rules.json").write_text(json.dumps(self.rules))

    def on(self, cmd, *responses):
        def response(r):
            # {"rc": ..., "stdout": ..., "stderr": ...} or just what it prints
            is_response = isinstance(r, dict) and r and set(r) <= {"rc", "stdout", "stderr"}
            return r if is_response else {"stdout": r}
        self.rules.append({"cmd": cmd.split(), "responses": [response(r) for r in responses]})
        self._save()
        return self

    def calls(self):
        p = self.dir / "calls.jsonl"
        return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []

    def commands(self):
        """The commands called, global options left out, as strings."""
        out = []
        for c in self.calls():
            a = c["argv"]
            while a and a[0] in ("--root", "--config", "--json"):
                a = a[1:] if a[0] == "--json" else a[2:]
            out.append(" ".join(a))
        return out


def entry(name, sha, path=None):
    return {"name": name, "sha256": sha, "size": 10, "time": "2026-01-01T00:00:00Z", "origin": "test",
            "path": path or f"/store/objects/{sha}.json", "status": "ok"}


def show(doc, sha="a" * 64, name="running"):
    return {"name": name, "sha256": sha, "size": 10, "time": "2026-01-01T00:00:00Z", "origin": "test",
            "path": f"/store/objects/{sha}.json", "config": doc}
