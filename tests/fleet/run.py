#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The fleet test (issue 16): ansible/playbooks/ run with the real
ansible-playbook over SSH against N=4 appliances on this machine (fleet.py:
a network namespace, an sshd and a --root tree each), the state of every
tree checked directly afterwards.  Prints "fleet: NAME: PASS|FAIL in N s"
per scenario and exits 1 when one failed.  Needs root (namespaces).

  tests/fleet/run.py                 every scenario, in order (they build
                                     on each other: rescue, then rollback …)
  RESETKIT_BUILD_DIR=build tests/fleet/run.py

Scenarios:
  reach           plain ansible.builtin.command: resetctl --root … status
                  on every host (the harness itself)
  rescue          rescue.yml --check --diff: would change all, changes no
                  tree; then all changed, then changed=0; running and
                  rescue on every tree are the document's sha256
  rollback        running changed on every tree, rollback.yml --check
                  changes none; then all changed, running = rescue again;
                  then changed=0
  failing-host    one host's resetctl exits 3 with a message: that host
                  failed=1 with the message and rc, the other 3 changed
  corrupt-store   one host's stored rescue configuration corrupted:
                  rollback.yml fails it with resetctl's "corrupt" message
                  (rc 3), the other 3 are rolled back
  check-mode      factory-reset.yml --check: no tree changes (snapshots)
  factory-reset   factory-reset.yml: status complete on every tree, the
                  certificates on the controller, 2 signed ones verified,
                  2 unsigned reported; then changed=0, in check mode too
  tampered        one collected certificate edited: --tags verify fails
                  that host with openssl's refusal, the others pass
  require-sig     resetkit_require_signature=true: the unsigned fail
  cleanup         after close(): no sshd, no rkfleet- namespace, no temp dir
"""
import hashlib
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fleet  # noqa: E402
from rktree import snapshot  # noqa: E402  (tests/e2e, on the path through fleet)

PLAYBOOKS = fleet.SRC / "ansible" / "playbooks"
TOTAL_TIMEOUT = int(os.environ.get("RESETKIT_FLEET_TIMEOUT", "180"))
SIGNING = (0, 2)  # r1 and r3 sign their certificates

RESCUE_DOC = {"system": {"name": "fleet", "rescue": True},
              "interfaces": [{"name": "ge-0/0/0", "address": "192.0.2.1/24"}]}
OTHER_DOC = {"system": {"name": "fleet", "rescue": False}, "note": "a later change the rollback undoes"}


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def recap(out):
    return out["stats"]


def changed_hosts(out):
    return sorted(h for h, s in recap(out).items() if s["changed"])


def assert_clean(rc, out, err, what):
    bad = {h: s for h, s in recap(out).items() if s["failures"] or s["unreachable"]}
    assert rc == 0 and not bad, f"{what}: rc {rc}, {bad}\n{failures(out)}\n{err[-2000:]}"


def failures(out):
    msgs = []
    for play in out["plays"]:
        for t in play["tasks"]:
            for h, r in t["hosts"].items():
                if r.get("failed") or r.get("unreachable"):
                    msgs.append(f"{h}: {t['task']['name']}: {r.get('msg')}")
    return "\n".join(msgs)


def task_results(out, name):
    for play in out["plays"]:
        for t in play["tasks"]:
            if t["task"]["name"] == name:
                return t["hosts"]
    raise AssertionError(f"no task {name!r} in the run")


def summary(out, name):
    hosts = task_results(out, name)
    assert len(hosts) == 1, hosts
    return next(iter(hosts.values()))["msg"]


def assert_second_run_unchanged(f, playbook, args=(), inventory=None):
    rc, out, err = f.playbook(playbook, inventory=inventory, args=args)
    assert_clean(rc, out, err, f"{playbook.name} (second run)")
    assert changed_hosts(out) == [], f"{playbook.name}: second run changed {changed_hosts(out)}: {recap(out)}"
    return out


class Scenarios:
    def __init__(self, f):
        self.f = f
        self.A = f.appliances
        self.rescue_json = f.tmp / "controller" / "rescue.json"
        self.rescue_json.write_text(json.dumps(RESCUE_DOC, indent=2) + "\n")
        self.doc_sha = sha(self.rescue_json)
        self.other_json = f.tmp / "controller" / "other.json"
        self.other_json.write_text(json.dumps(OTHER_DOC) + "\n")

    def reach(self):
        rc, out, err = self.f.playbook(HERE / "probe.yml")
        assert_clean(rc, out, err, "probe")
        st = task_results(out, "The status, parsed")
        assert sorted(st) == [a.name for a in self.A], st
        assert all(r["msg"]["factory_reset"] == "none" for r in st.values()), st

    def rescue(self):
        args = ["-e", f"resetkit_rescue_config={self.rescue_json}"]
        # --check --diff first: every host would change, no tree does
        before = {a.name: snapshot(a.root) for a in self.A}
        rc, out, err = self.f.playbook(PLAYBOOKS / "rescue.yml", args=args + ["--check", "--diff"])
        assert_clean(rc, out, err, "rescue.yml --check")
        commit = task_results(out, "Commit it as the running configuration")
        assert all(r["changed"] and "diff" in r for r in commit.values()), commit
        for a in self.A:
            assert snapshot(a.root) == before[a.name], f"{a.name}: rescue.yml --check changed the tree"
        rc, out, err = self.f.playbook(PLAYBOOKS / "rescue.yml", args=args)
        assert_clean(rc, out, err, "rescue.yml")
        names = [a.name for a in self.A]
        assert changed_hosts(out) == names, recap(out)
        s = summary(out, "Report which routers changed")
        assert s["changed"] == names and s["unchanged"] == [] and s["failed"] == [], s
        for a in self.A:
            got = a.sha256()
            assert got.get("running") == self.doc_sha and got.get("rescue") == self.doc_sha, (a.name, got)
            assert s["rescue_sha256"][a.name] == self.doc_sha, s
        out = assert_second_run_unchanged(self.f, PLAYBOOKS / "rescue.yml", args)
        s = summary(out, "Report which routers changed")
        assert s["changed"] == [] and s["unchanged"] == names, s

    def rollback(self):
        other = self.other_json
        for a in self.A:
            a.resetctl("config", "commit", str(other))
            assert a.sha256()["running"] == sha(other)
        before = {a.name: snapshot(a.root) for a in self.A}
        rc, out, err = self.f.playbook(PLAYBOOKS / "rollback.yml", args=["--check"])
        assert_clean(rc, out, err, "rollback.yml --check")
        assert changed_hosts(out) == [a.name for a in self.A], recap(out)
        for a in self.A:
            assert snapshot(a.root) == before[a.name], f"{a.name}: rollback.yml --check changed the tree"
        rc, out, err = self.f.playbook(PLAYBOOKS / "rollback.yml")
        assert_clean(rc, out, err, "rollback.yml")
        assert changed_hosts(out) == [a.name for a in self.A], recap(out)
        for a in self.A:
            got = a.sha256()
            assert got["running"] == self.doc_sha == got["rescue"], (a.name, got)
        assert_second_run_unchanged(self.f, PLAYBOOKS / "rollback.yml")

    def failing_host(self):
        """A host whose resetctl exits 3 with a message (a stand-in
        resetctl script): failed with that message and rc, the others go on."""
        bad = self.A[2]
        script = self.f.tmp / "controller" / "resetctl-broken"
        msg = "resetctl: configuration store: objects/0000.json: sha256 mismatch (a broken resetctl, the fleet test)"
        script.write_text(f"#!/bin/sh\necho '{msg}' >&2\nexit 3\n")
        script.chmod(0o755)
        inv = self.f.inventory({bad.name: {"resetkit_resetctl": str(script)}}, name="inventory-broken.yml")
        new = self.f.tmp / "controller" / "rescue-2.json"
        new.write_text(json.dumps(dict(RESCUE_DOC, revision=2)) + "\n")
        before = bad.sha256()
        try:
            rc, out, err = self.f.playbook(PLAYBOOKS / "rescue.yml", inventory=inv,
                                           args=["-e", f"resetkit_rescue_config={new}"])
            st = recap(out)
            assert rc != 0, "a failed host makes ansible-playbook fail"
            assert st[bad.name]["failures"] == 1, st
            others = [a for a in self.A if a is not bad]
            for a in others:
                assert st[a.name]["failures"] == 0 and st[a.name]["unreachable"] == 0 and st[a.name]["changed"], st
                got = a.sha256()
                assert got["running"] == got["rescue"] == sha(new), (a.name, got)
            assert bad.sha256() == before, "the failing host's tree is untouched"
            s = summary(out, "Report which routers changed")
            assert s["failed"] == [bad.name] and s["changed"] == [a.name for a in others], s
            r = task_results(out, "Commit it as the running configuration")[bad.name]
            assert r.get("failed") and r.get("rc") == 3, r
            assert msg in r["msg"], f"the task's msg is not resetctl's message: {r['msg']!r}"
        finally:
            # the fleet back on one rescue document for what follows
            rc, out, err = self.f.playbook(PLAYBOOKS / "rescue.yml", args=["-e", f"resetkit_rescue_config={self.rescue_json}"])
            assert_clean(rc, out, err, "rescue.yml (again)")

    def corrupt_store(self):
        """A host whose stored rescue configuration is corrupt (the real
        resetctl refuses to load it, exit 3): rollback.yml fails it with
        resetctl's message, the other 3 are rolled back."""
        bad = self.A[1]
        other = self.other_json
        for a in self.A:
            a.resetctl("config", "commit", str(other))
        obj = bad.root / "var/lib/resetkit/config/objects" / f"{self.doc_sha}.json"
        genuine = obj.read_bytes()
        obj.write_bytes(genuine.replace(b"fleet", b"FLEET"))
        try:
            rc, out, err = self.f.playbook(PLAYBOOKS / "rollback.yml")
            st = recap(out)
            assert rc != 0 and st[bad.name]["failures"] == 1, st
            r = task_results(out, "Load the rescue configuration as running")[bad.name]
            assert r.get("failed") and r.get("rc") == 3 and "corrupt" in r["msg"] and str(obj) in r["msg"], r
            for a in self.A:
                if a is not bad:
                    assert st[a.name]["failures"] == 0 and st[a.name]["changed"], st
                    assert a.sha256()["running"] == self.doc_sha, a.name
            assert bad.sha256()["running"] == sha(other), "the corrupt host keeps its running configuration"
            s = summary(out, "Report which routers were rolled back")
            assert s["failed"] == [bad.name], s
        finally:
            obj.write_bytes(genuine)
        rc, out, err = self.f.playbook(PLAYBOOKS / "rollback.yml")
        assert_clean(rc, out, err, "rollback.yml (store repaired)")
        assert changed_hosts(out) == [bad.name], recap(out)

    def check_mode(self):
        before = {a.name: snapshot(a.root) for a in self.A}
        rc, out, err = self.f.playbook(PLAYBOOKS / "factory-reset.yml", args=["--check", "-e", f"resetkit_cert_dir={self.f.certs}"])
        assert_clean(rc, out, err, "factory-reset.yml --check")
        assert changed_hosts(out) == [a.name for a in self.A], recap(out)
        plans = task_results(out, "The plan (check mode)")
        assert all(isinstance(r["msg"], (dict, list)) for r in plans.values()), plans
        for a in self.A:
            assert snapshot(a.root) == before[a.name], f"{a.name}: the check-mode run changed the tree"
            assert a.json("status")["factory_reset"] == "none"
        assert not self.f.certs.exists(), "check mode collected nothing"

    def factory_reset(self):
        args = ["-e", f"resetkit_cert_dir={self.f.certs}"]
        rc, out, err = self.f.playbook(PLAYBOOKS / "factory-reset.yml", args=args)
        assert_clean(rc, out, err, "factory-reset.yml")
        names = [a.name for a in self.A]
        assert changed_hosts(out) == names, recap(out)
        s = summary(out, "Report the resets and the certificates")
        assert s["reset"] == names and s["failed"] == [], s
        for a in self.A:
            st = a.json("status")
            assert st["factory_reset"] == "complete", (a.name, st)
            local = self.f.certs / f"{a.name}.json"
            remote = a.root / "var/log/resetkit/sanitization.json"
            assert local.read_bytes() == remote.read_bytes(), a.name
            sig = self.f.certs / f"{a.name}.json.sig"
            if a.i in SIGNING:
                assert sig.read_bytes() == (remote.parent / "sanitization.json.sig").read_bytes(), a.name
                assert s["verdict"][a.name] == "verified", s
                # the device-side check agrees
                a.resetctl("certificate", "--verify", "--cert", str(a.pubkey))
            else:
                assert not sig.exists(), a.name
                assert s["verdict"][a.name].startswith("unsigned"), s
            # the rescue configuration went with the reset (SPEC §3)
            assert "rescue" not in a.sha256(), a.name
        assert_second_run_unchanged(self.f, PLAYBOOKS / "factory-reset.yml", args)
        # and check mode agrees: nothing left to do
        assert_second_run_unchanged(self.f, PLAYBOOKS / "factory-reset.yml", args + ["--check"])

    def tampered(self):
        victim = self.A[SIGNING[1]]
        cert = self.f.certs / f"{victim.name}.json"
        cert.write_text(cert.read_text().replace('"complete"', '"complete" ', 1))
        rc, out, err = self.f.playbook(PLAYBOOKS / "factory-reset.yml",
                                       args=["--tags", "verify", "-e", f"resetkit_cert_dir={self.f.certs}"])
        st = recap(out)
        assert rc != 0 and st[victim.name]["failures"] == 1, st
        assert all(st[a.name]["failures"] == 0 for a in self.A if a is not victim), st
        r = task_results(out, "The signature verifies")[victim.name]
        assert r.get("failed") and "does not verify" in r["msg"] and str(victim.pubkey) in r["msg"], r
        assert "Signature Verification Failure" in r["msg"], r
        # and nothing ran on the routers: the certificate there is intact
        remote = victim.root / "var/log/resetkit/sanitization.json"
        assert remote.read_bytes() != cert.read_bytes()
        s = summary(out, "Report the resets and the certificates")
        assert s["failed"] == [victim.name] and s["reset"] == [], s
        assert s["verdict"][self.A[SIGNING[0]].name] == "verified", s
        # the next full run fetches the genuine one again and verifies it
        rc, out, err = self.f.playbook(PLAYBOOKS / "factory-reset.yml", args=["-e", f"resetkit_cert_dir={self.f.certs}"])
        assert_clean(rc, out, err, "factory-reset.yml after tampering")
        assert cert.read_bytes() == remote.read_bytes()
        assert changed_hosts(out) == [victim.name], recap(out)

    def require_sig(self):
        rc, out, err = self.f.playbook(PLAYBOOKS / "factory-reset.yml",
                                       args=["--tags", "verify", "-e", f"resetkit_cert_dir={self.f.certs}",
                                             "-e", "resetkit_require_signature=true"])
        st = recap(out)
        unsigned = [a.name for a in self.A if a.i not in SIGNING]
        assert rc != 0 and sorted(h for h, s in st.items() if s["failures"]) == unsigned, st
        r = task_results(out, "Signatures are required")
        assert all("unsigned" in r[h]["msg"] for h in unsigned), r


def main():
    names = ["reach", "rescue", "rollback", "failing-host", "corrupt-store", "check-mode", "factory-reset", "tampered", "require-sig"]
    only = sys.argv[1:]
    if os.geteuid() != 0:
        print("fleet: needs root (network namespaces, sshd)", file=sys.stderr)
        return 2
    assert fleet.RESETCTL.exists(), f"{fleet.RESETCTL}: not built (RESETKIT_BUILD_DIR)"
    # the whole run is bounded: SIGALRM ends the scenario running then, and
    # the rest (cleanup still runs)
    def over_time(*_):
        raise TimeoutError(f"fleet: over {TOTAL_TIMEOUT} s (RESETKIT_FLEET_TIMEOUT)")
    signal.signal(signal.SIGALRM, over_time)
    signal.alarm(TOTAL_TIMEOUT)
    start = time.monotonic()
    failed = []
    f = None
    try:
        t = time.monotonic()
        ok = True
        try:
            f = fleet.Fleet(n=4, signing=SIGNING)
            f.up()
        except Exception:
            traceback.print_exc()
            ok = False
        print(f"fleet: setup: {'PASS' if ok else 'FAIL'} in {time.monotonic() - t:.1f} s", flush=True)
        if not ok:
            failed.append("setup")
        else:
            sc = Scenarios(f)
            for name in names:
                if only and name not in only:
                    continue
                t = time.monotonic()
                try:
                    getattr(sc, name.replace("-", "_"))()
                    verdict = "PASS"
                except TimeoutError:
                    traceback.print_exc()
                    failed.append(name)
                    print(f"fleet: {name}: FAIL in {time.monotonic() - t:.1f} s", flush=True)
                    break
                except Exception:
                    traceback.print_exc()
                    verdict = "FAIL"
                    failed.append(name)
                print(f"fleet: {name}: {verdict} in {time.monotonic() - t:.1f} s", flush=True)
    finally:
        signal.alarm(0)
        t = time.monotonic()
        tmp = f.tmp if f else None
        if f:
            f.close()
        left = fleet.namespaces()
        mine = [ns for ns in left if ns.startswith(f"{fleet.NS_PREFIX}{os.getpid()}-")]
        sshd_left = [p.pid for p in (f.sshd if f else []) if p.poll() is None]
        problems = []
        if left:
            problems.append(f"namespaces left: {left}" + (" (this run's)" if mine else " (another run's)"))
        if sshd_left:
            problems.append(f"sshd left: {sshd_left}")
        if tmp and tmp.exists():
            problems.append(f"temp dir left: {tmp}")
        if tmp:
            procs = fleet.processes_naming(str(tmp))
            if procs:
                problems.append(f"processes naming {tmp} left: {procs}")
        if problems:
            print("fleet: cleanup: " + "; ".join(problems), file=sys.stderr)
            failed.append("cleanup")
        print(f"fleet: cleanup: {'FAIL' if problems else 'PASS'} in {time.monotonic() - t:.1f} s", flush=True)
    print(f"fleet: {'FAILED: ' + ', '.join(failed) if failed else 'all passed'} "
          f"in {time.monotonic() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
