"""A factory reset requested on a running system is carried out at the next
boot by the early-boot program, before anything holds the root's files
(SPEC §3 "When it runs", §4).  On a loop-mounted ext4 root: a log file a
running process holds open (as journald holds its journal) survives a live
reset's zeroing on the raw disk; requested, then carried out by
reset-failsafe once the holder is gone ("rebooted"), no byte of it is left."""
import json
import os

import pytest

from rkfailsafe import FAULT_INJECTION, WHITE, Appliance
from rkreset import build_ssr_root, run, snapshot, write
from rkzero import disks, hold, needs_loop  # noqa: F401

pytestmark = needs_loop

MANIFEST = "empty /var/log\nzero-free-space /\n"


def appliance(disks, tmp_path):
    img = disks.image("root.img", 32)
    dev = disks.loop(img)
    root = disks.mount(dev, tmp_path / "root")
    a = Appliance(tmp_path, root=root)
    a.configure()
    write(root, "usr/lib/resetkit/factory-reset.d/test.conf", MANIFEST)
    # the tree's early-boot integration: what makes --at-boot possible here
    write(root, "usr/share/initramfs-tools/hooks/resetkit", "#!/bin/sh\n", 0o755)
    marker = f"RKMARK-held-{os.urandom(6).hex()}\n"
    write(root, "var/log/journal.log", marker * (1 << 15))
    os.sync()
    return img, dev, root, a, marker.strip()


def on_disk(img, marker):
    return marker.encode() in img.read_bytes()


def status(root):
    return json.loads(run(["--json", "status"], root=root, check=0).stdout)


def test_requested_reset_reaches_what_a_live_one_cannot(disks, tmp_path):
    img, dev, root, a, marker = appliance(disks, tmp_path)
    holder = hold(root / "var/log/journal.log")
    try:
        run(["factory-reset", "--at-boot", "--yes", "--then", "none"], root=root, check=0)
        assert status(root)["factory_reset"] == "requested"
        assert (root / "var/log/journal.log").exists(), "a request changes nothing"
    finally:
        holder.kill()           # the reboot: every process ends
        holder.wait()
    try:
        # the next boot: reset-failsafe finds the request, nobody holds the button
        a.start()
        assert a.wait(timeout=120) == 0, a.stderr
        assert "a factory reset is requested" in a.stderr, a.stderr
        assert a.reboot_marker.exists() and not a.poweroff_marker.exists()
        pats = a.patterns()
        assert pats[0] == ("fade-out", WHITE, 2000) and pats[-1][0] == "off", pats
        assert status(root)["factory_reset"] == "complete"
        assert not (root / "var/log/journal.log").exists()
    finally:
        a.close()
    disks.umount(root)
    disks.detach(dev)
    assert not on_disk(img, marker), "the held file's blocks were freed and zeroed"


def test_live_reset_names_what_it_leaves(disks, tmp_path):
    """The same held file with --now: the run says it was not reached (and
    it is indeed still on the disk: the honest claim is the point)."""
    img, dev, root, a, marker = appliance(disks, tmp_path)
    a.close()
    holder = hold(root / "var/log/journal.log")
    try:
        p = run(["factory-reset", "--now", "--yes", "--then", "none"], root=root, check=0)
    finally:
        holder.kill()
        holder.wait()
    assert f"not reached: {root}/var/log/journal.log" in p.stderr, p.stderr
    disks.umount(root)
    disks.detach(dev)
    assert on_disk(img, marker)


def test_corrupt_request_boots_on(disks, tmp_path):
    img, dev, root, a, marker = appliance(disks, tmp_path)
    try:
        run(["factory-reset", "--at-boot", "--yes", "--then", "none"], root=root, check=0)
        j = root / "var/lib/resetkit/factory-reset.journal"
        j.write_text(j.read_text()[:100])
        for _ in range(2):      # every boot: said, not acted on, no loop
            a.start()
            assert a.wait(timeout=30) == 0, a.stderr
            assert "cannot be read" in a.stderr and "not acted on" in a.stderr, a.stderr
            assert not a.reboot_marker.exists() and not a.poweroff_marker.exists()
        assert (root / "var/log/journal.log").exists()
    finally:
        a.close()


def test_pending_request_wins_over_a_held_button(disks, tmp_path):
    img, dev, root, a, marker = appliance(disks, tmp_path)
    try:
        run(["factory-reset", "--at-boot", "--yes", "--then", "none"], root=root, check=0)
        a.press()               # held at power-on
        a.start()
        assert a.wait(timeout=120) == 0, a.stderr
        assert "a factory reset is requested" in a.stderr
        # the request ran (the reboot into the factory state), not the
        # button's sequence (which would end powered off)
        assert a.reboot_marker.exists() and not a.poweroff_marker.exists()
        assert status(root)["factory_reset"] == "complete"
    finally:
        a.close()


def ssr_appliance(tmp_path, name):
    base = tmp_path / name
    base.mkdir()
    root = build_ssr_root(base / "root")
    a = Appliance(base, root=root)
    a.configure()
    write(root, "usr/share/initramfs-tools/hooks/resetkit", "#!/bin/sh\n", 0o755)
    run(["factory-reset", "--at-boot", "--yes", "--no-zeroize", "--then", "none"], root=root, check=0)
    return a


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs a -Dfault-injection=true build")
def test_power_cut_at_every_point_of_the_early_boot_run(tmp_path):
    """Requested, then cut off (SIGKILL) at the first, middle and last
    passage of every point of the early-boot run, then the next boot: the
    result is the one an uninterrupted run gives."""
    # times, and each appliance's own fifo and LED paths in its resetd.conf
    skip = ("var/log/resetkit", "var/lib/resetkit/config", "var/lib/resetkit/factory-reset.status", "tmp",
            "etc/resetkit/resetd.conf")

    ref = ssr_appliance(tmp_path, "ref")
    trace = tmp_path / "trace"
    ref.start(env={"RESETKIT_FAULT_TRACE": str(trace)})
    assert ref.wait(timeout=120) == 0, ref.stderr
    ref.close()
    want = snapshot(ref.root, skip=skip)
    counts = {}
    for n in trace.read_text().split():
        counts[n] = counts.get(n, 0) + 1
    # first and last passage of every point, spread over at most 40 cases:
    # each costs a failed boot (its red blinks) and a resumed one; every
    # occurrence of every point is the kill matrix's (test_reset_failures)
    every = [f"{n}:{k}" for n, c in sorted(counts.items()) for k in sorted({1, c})]
    step = max(1, -(-len(every) // 40))
    cases = every[::step]
    failures = []
    for i, case in enumerate(cases):
        a = ssr_appliance(tmp_path, f"c{i}")
        try:
            a.start(env={"RESETKIT_FAULT": case})
            a.wait(timeout=120)
            for boot in range(3):       # the next boots, until one says done
                a.start()
                if a.wait(timeout=120) != 0:
                    continue
                if status(a.root)["factory_reset"] == "complete":
                    break
            st = status(a.root)["factory_reset"]
            if st != "complete":
                failures.append(f"{case}: {st} after the next boots")
            elif snapshot(a.root, skip=skip) != want:
                got = snapshot(a.root, skip=skip)
                failures.append(f"{case}: differs: {sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))[:6]}")
        finally:
            a.close()
    print(f"\nearly-boot power cuts: {len(cases)} of {len(every)} cases", flush=True)
    assert len(cases) >= 20
    assert not failures, "\n".join(failures)
