"""The inactive slot gets the strongest erase its device offers, in SPEC §3
step 6's order (NVMe Format NVM, BLKSECDISCARD, BLKZEROOUT, zero writes),
and the log names the method with the capability that chose it and why the
stronger ones could not run.  A loop device has neither NVMe nor secure
erase: BLKZEROOUT, said so; an image file: zero writes, said so; a secure
discard that fails: the fallback, said so, the slot still zero.  (Format
NVM on a real namespace: tests/vm/scenarios/zero-nvme.sh.)"""
import json
import os

import pytest

from rkreset import FAULT_INJECTION, build_ssr_root, run
from rkzero import disks, needs_loop  # noqa: F401

pytestmark = needs_loop


def rig(disks, tmp_path, loop_slot=True):
    img = disks.image("root.img", 32)
    dev = disks.loop(img)
    root = disks.mount(dev, tmp_path / "root")
    slot_b = disks.image("slot-b.img", 8, fs=False)
    with open(slot_b, "r+b") as f:
        for i in range(32):
            f.seek(i * 256 * 1024 + 77)
            f.write(f"RKMARK-erase-{i}-{os.urandom(4).hex()}".encode())
    b = disks.loop(slot_b) if loop_slot else slot_b
    build_ssr_root(root, config=f"[slots]\na = {img}\nb = {b}\nactive = a\n")
    mf = root / "usr/lib/resetkit/factory-reset.d/zz-erase.conf"
    mf.write_text("zero-partition inactive\n")
    return root, slot_b


def slot_step(root):
    plan = json.loads(run(["--json", "factory-reset", "--yes", "--then", "none"], root=root, check=0).stdout)
    return next(s for s in plan["steps"] if s["action"] == "zero-partition")


def zero(path):
    data = path.read_bytes()
    return data.count(0) == len(data)


def test_loop_device_slot_gets_blkzeroout_and_says_why(disks, tmp_path):
    root, slot_b = rig(disks, tmp_path)
    p = run(["factory-reset", "--yes", "--then", "none"], root=root, check=0)
    line = next(x for x in p.stderr.splitlines() if "zero-partition: zeroed" in x)
    assert "method BLKZEROOUT" in line, line
    assert "(NVMe Format NVM: not a whole NVMe namespace; BLKSECDISCARD: the queue has no secure erase)" in line, line
    assert "all zero" in line and "Clear" in line and "Purge" not in line, line
    assert zero(slot_b)


def test_report_names_the_method(disks, tmp_path):
    root, slot_b = rig(disks, tmp_path)
    step = slot_step(root)
    assert step["method"] == "BLKZEROOUT" and "device-erase" not in step, step
    assert zero(slot_b)


def test_image_file_slot_gets_zero_writes(disks, tmp_path):
    root, slot_b = rig(disks, tmp_path, loop_slot=False)
    p = run(["factory-reset", "--yes", "--then", "none"], root=root, check=0)
    line = next(x for x in p.stderr.splitlines() if "zero-partition: zeroed" in x)
    assert "method O_DIRECT zero writes (an image file: no device erase)" in line, line
    assert zero(slot_b)


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs a -Dfault-injection=true build")
def test_failing_secure_discard_falls_back_and_says_so(disks, tmp_path):
    root, slot_b = rig(disks, tmp_path)
    p = run(["factory-reset", "--yes", "--then", "none"], root=root, check=0,
            env={"RESETKIT_FAIL": "erase:secdiscard=EIO"})
    line = next(x for x in p.stderr.splitlines() if "zero-partition: zeroed" in x)
    assert "BLKSECDISCARD failed: Input/output error" in line and "method BLKZEROOUT" in line, line
    assert zero(slot_b)
