# SPDX-License-Identifier: GPL-2.0-or-later
"""crypto-erase (SPEC §3, issue 15): a LUKS2 image made with the real
cryptsetup is purged by the real resetctl — the old passphrases open
nothing, no keyslot is left, no old keyslot-area byte is left — and the
sanitization certificate says exactly that; every target preflight must
refuse is refused with its reason and nothing changes; a damaged header
is erased as far as it can be and certified as `fail`; the first-boot step
re-creates the volume with a new key in the configured key file."""
import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from rkluks import PASS1, PASS2, cs, keyslot_areas, make_luks2, metadata, needs_cryptsetup, opens_with, read_areas
from rkreset import FAULT_INJECTION, RESETCTL, build_ssr_root, run, snapshot, write
from rkzero import disks, needs_loop  # noqa: F401

pytestmark = needs_cryptsetup

RESET = ["factory-reset", "--yes", "--no-zeroize", "--then", "none"]
CERT = "var/log/resetkit/sanitization.json"


def version():
    return subprocess.run([str(RESETCTL), "--version"], capture_output=True, text=True).stdout.split()[1]


def rig(tmp_path, options="", config=""):
    root = build_ssr_root(tmp_path / "root", config=config)
    img = make_luks2(tmp_path / "data.img")
    write(root, "etc/resetkit/factory-reset.d/zz-crypt.conf", f"crypto-erase {img} {options}\n")
    return root, img


def digest(p: Path):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def cert(root):
    return json.loads((root / CERT).read_text())


def test_crypto_erase_purges_and_certifies(tmp_path):
    root, img = rig(tmp_path)
    areas = keyslot_areas(img)
    assert len(areas) == 2 and opens_with(img, PASS1) and opens_with(img, PASS2)
    old = read_areas(img, areas)
    old_digest = metadata(img)["digests"]["0"]["digest"]
    p = run(RESET, root=root, check=0)
    assert "crypto-erase" in p.stderr and "purged" in p.stderr

    # the old passphrases open nothing, no keyslot, no token, a new digest
    assert not opens_with(img, PASS1) and not opens_with(img, PASS2)
    m = metadata(img)
    assert m["keyslots"] == {} and m["tokens"] == {}
    assert all(d["digest"] != old_digest for d in m["digests"].values())
    # none of the old keyslot-area bytes is left: every area reads back zero
    new = read_areas(img, areas)
    for o, n in zip(old, new):
        assert any(o) and not any(n)
    assert "Keyslots:\nTokens:" in cs("luksDump", img).stdout.decode()

    c = cert(root)
    assert c["tool"] == {"name": "resetkit", "version": version()}
    assert c["result"] == "complete" and c["trigger"] == "command line"
    assert c["started"].endswith("Z") and c["finished"] >= c["started"]
    assert c["removed"]["files"] > 0 and c["removed"]["users"] == 2 and c["removed"]["passwords_reset"] == 3
    assert set(c["device"]) == {"vendor", "model", "serial", "hostname"}
    assert c["device"]["hostname"] == "keep etc/hostname"
    assert len(c["media"]) == 1, "one entry per medium"
    med = c["media"][0]
    assert med["path"] == str(img) and med["kind"] == "luks" and med["size_bytes"] == img.stat().st_size
    assert med["category"] == "purge" and med["method"] == "crypto-erase"
    v = med["verification"]
    assert v["result"] == "pass" and v["method"] == "header read-back"
    assert v["bytes"] >= sum(n for _, n in areas) and v["places"] >= 2
    assert any("2 keyslots destroyed, 1 token removed" in x for x in med["caveats"])
    assert c["signature"]["state"] == "none"

    # resetctl certificate: the text, and --json as stored
    t = run(["certificate"], root=root, check=0).stdout
    assert "PURGE by crypto-erase" in t and str(img) in t and "result:    complete" in t
    assert run(["certificate", "--json"], root=root, check=0).stdout == (root / CERT).read_text()


def test_crypto_erase_runs_after_the_removals(tmp_path):
    root, img = rig(tmp_path)
    p = run(RESET + ["--dry-run"], root=root, check=0)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("  ")]
    actions = [ln.split()[2] for ln in lines]
    k = actions.index("crypto-erase")
    assert all(a in ("remove", "empty", "keep-newest", "exec") for a in actions[:k])
    assert actions[k + 1] == "delete-users"
    assert "purge" in lines[k] and "destroy every keyslot" in lines[k]
    assert opens_with(img, PASS1), "a dry run changes nothing"


def refused(root, img_or_target, tmp_path, what):
    before = snapshot(root)
    files = {p: digest(p) for p in tmp_path.glob("*.img")}
    p = run(RESET, root=root)
    assert p.returncode == 6, p.stderr
    assert "refused" in p.stderr and what in p.stderr, p.stderr
    assert "nothing changed" in p.stderr
    assert snapshot(root) == before
    assert {q: digest(q) for q in tmp_path.glob("*.img")} == files
    return p


@pytest.mark.parametrize("kind", ["not-luks", "missing", "directory"])
def test_crypto_erase_bad_target_refused(tmp_path, kind):
    root = build_ssr_root(tmp_path / "root")
    target = tmp_path / "target.img"
    if kind == "not-luks":
        target.write_bytes(b"\0" * (4 << 20))
        what = "not a LUKS volume"
    elif kind == "missing":
        what = "does not exist"
    else:
        target = tmp_path / "somedir"
        target.mkdir()
        what = "is a directory"
    write(root, "etc/resetkit/factory-reset.d/zz-crypt.conf", f"crypto-erase {target}\n")
    p = refused(root, target, tmp_path, what)
    assert "zz-crypt.conf:1" in p.stderr


def test_crypto_erase_slot_device_refused(tmp_path):
    root, img = rig(tmp_path)
    other = tmp_path / "slot-a.img"
    other.write_bytes(b"\0" * (1 << 20))
    write(root, "etc/resetkit/resetd.conf", f"[slots]\na = {other}\nb = {img}\nactive = a\n")
    refused(root, img, tmp_path, "it is [slots] b")
    assert opens_with(img, PASS1)


@needs_loop
def test_crypto_erase_root_device_refused(tmp_path, disks):
    """--root on a loop-mounted filesystem whose device (and whose image)
    is named as the target: the device under the root is refused first,
    whatever it holds."""
    fs = disks.image("root.img", 16)
    dev = disks.loop(fs)
    root = disks.mount(dev, tmp_path / "mnt")
    build_ssr_root(root)
    for target in (dev, fs):
        write(root, "etc/resetkit/factory-reset.d/zz-crypt.conf", f"crypto-erase {target}\n")
        before = snapshot(root)
        p = run(RESET, root=root)
        assert p.returncode == 6, p.stderr
        assert "device under the root" in p.stderr and "nothing changed" in p.stderr
        assert snapshot(root) == before


@needs_loop
def test_crypto_erase_zero_free_space_device_refused(tmp_path, disks):
    """A device holding a filesystem a later zero-free-space entry needs."""
    root = build_ssr_root(tmp_path / "root")
    fs = disks.image("data.img", 16)
    dev = disks.loop(fs)
    disks.mount(dev, root / "data")
    write(root, "etc/resetkit/factory-reset.d/zz-crypt.conf", f"crypto-erase {dev}\nzero-free-space /data\n")
    before = snapshot(root)
    p = run(["factory-reset", "--yes", "--then", "none"], root=root)
    assert p.returncode == 6 and "whose free space zero-free-space" in p.stderr, p.stderr
    assert snapshot(root) == before


def test_crypto_erase_bad_options_are_a_manifest_error(tmp_path):
    root, img = rig(tmp_path, options="keyfile=relative/key")
    p = run(RESET, root=root)
    assert p.returncode == 2 and "zz-crypt.conf:1" in p.stderr and "keyfile" in p.stderr, p.stderr
    assert opens_with(img, PASS1)


def damage(img: Path):
    """Both JSON areas of the LUKS2 header garbled: the magic stays, the
    header no longer loads."""
    with open(img, "r+b") as f:
        for off in (4096, 16384 + 4096):
            f.seek(off)
            f.write(os.urandom(8192))


def test_damaged_header_fails_and_says_so(tmp_path):
    root, img = rig(tmp_path)
    areas = keyslot_areas(img)
    damage(img)
    assert cs("luksDump", img, check=False).returncode != 0
    d = run(RESET + ["--dry-run"], root=root, check=0)
    assert "damaged" in d.stderr
    p = run(RESET, root=root)
    assert p.returncode == 1, p.stderr
    assert "crypto-erase" in p.stderr and "damaged" in p.stderr
    # what could be erased was: the old keyslot areas read back zero
    for b in read_areas(img, areas):
        assert not any(b)
    c = cert(root)
    assert c["result"] == "failed"
    med = c["media"][0]
    assert med["verification"]["result"] == "fail", "never claim pass on a damaged header"
    assert any("damaged" in x for x in med["caveats"])
    s = json.loads(run(["status", "--json"], root=root, check=0).stdout)
    assert s["factory_reset"] == "failed"


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_media_records_survive_a_power_cut(tmp_path):
    """Killed right after the crypto-erase entry was journaled: the resumed
    reset's certificate still lists the volume the first attempt purged."""
    root, img = rig(tmp_path)
    plan = run(RESET + ["--dry-run", "--json"], root=root, check=0)
    steps = json.loads(plan.stdout)["steps"]
    k = [s["action"] for s in steps].index("crypto-erase")
    p = run(RESET, root=root, env={"RESETKIT_FAULT": f"engine:journaled:{k + 1}"})
    assert p.returncode == -9
    assert not (root / CERT).exists()
    assert not opens_with(img, PASS1)
    run(["factory-reset", "--resume", "--yes", "--then", "none"], root=root, check=0)
    c = cert(root)
    assert c["result"] == "complete"
    assert [m["kind"] for m in c["media"]] == ["luks"]
    assert c["media"][0]["verification"]["result"] == "pass"
    assert c["removed"]["files"] > 0, "what the first attempt removed is counted"


def test_recreate_volume_at_first_boot(tmp_path):
    """After the erase, `resetctl recreate-volumes` (resetkit-cryptvol.service)
    makes a fresh LUKS2 volume whose new key is in the configured key file.
    mkfs needs the opened volume (device-mapper): mkfs=none here, the
    filesystem is for the QEMU suite and the appliance."""
    root, img = rig(tmp_path, options="keyfile=/etc/keys/data.key mkfs=none")
    write(root, "etc/keys/data.key", "the old key\n", 0o400)
    run(RESET, root=root, check=0)
    assert run(["recreate-volumes", "--dry-run"], root=root, check=0).stderr.count("would be re-created") == 1
    p = run(["recreate-volumes"], root=root, check=0)
    assert "re-created" in p.stderr
    key = root / "etc/keys/data.key"
    assert key.stat().st_mode & 0o777 == 0o400 and len(key.read_bytes()) == 64
    assert key.read_bytes() != b"the old key\n"
    assert cs("luksOpen", "--test-passphrase", "--key-file", key, img, check=False).returncode == 0
    assert not opens_with(img, PASS1)
    assert len(metadata(img)["keyslots"]) == 1
    # a volume that works is never touched again (every boot runs it)
    k = key.read_bytes()
    p = run(["recreate-volumes"], root=root, check=0)
    assert "left alone" in p.stderr and key.read_bytes() == k


def test_recreate_never_touches_a_working_volume(tmp_path):
    root, img = rig(tmp_path, options="keyfile=/etc/keys/data.key")
    before = digest(img)
    p = run(["recreate-volumes"], root=root, check=0)
    assert "left alone" in p.stderr
    assert digest(img) == before and not (root / "etc/keys/data.key").exists()


@needs_loop
def test_certificate_lists_every_medium(tmp_path, disks):
    """A whole reset with zeroing and a crypto-erase: one media entry per
    medium, each with its category, method and verification result."""
    img = disks.image("root.img", 32)
    dev = disks.loop(img)
    root = disks.mount(dev, tmp_path / "root")
    slot_b = disks.image("slot-b.img", 8, fs=False)
    luks = make_luks2(tmp_path / "data.img")
    build_ssr_root(root, config=f"[slots]\na = {img}\nb = {slot_b}\nactive = auto\n[reset]\nverify = full\n")
    write(root, "etc/resetkit/factory-reset.d/zz-crypt.conf", f"crypto-erase {luks}\n")
    run(["factory-reset", "--yes", "--then", "none"], root=root, check=0)
    c = cert(root)
    assert c["result"] == "complete"
    by_kind = {m["kind"]: m for m in c["media"]}
    assert sorted(by_kind) == ["filesystem", "image", "luks"], c["media"]
    fs, slot, vol = by_kind["filesystem"], by_kind["image"], by_kind["luks"]
    assert vol["category"] == "purge" and vol["path"] == str(luks)
    assert slot["path"] == str(slot_b) and slot["size_bytes"] == 8 << 20
    assert fs["path"] == "/" and fs["size_bytes"] > 0
    for m in (fs, slot):
        assert m["category"] == "clear", "every overwrite is clear"
        assert m["method"] in ("BLKZEROOUT", "O_DIRECT zero writes", "buffered zero writes + fdatasync")
        assert m["verification"]["result"] == "pass"
        assert m["verification"]["method"] == "read-back full"
        assert any("remapped" in x for x in m["caveats"])
    assert slot["verification"]["bytes"] == 8 << 20
    assert any("ext4 keeps a few clusters" in x for x in fs["caveats"])
    assert any("free space only" in x for x in fs["caveats"])


def test_crypto_erase_luks1(tmp_path):
    """LUKS1 too: its eight keyslot areas zeroed, the header (and its
    master-key digest) rewritten, no keyslot left."""
    root = build_ssr_root(tmp_path / "root")
    img = tmp_path / "old.img"
    with open(img, "wb") as f:
        f.truncate(8 << 20)
    cs("luksFormat", "--type", "luks1", "--pbkdf-force-iterations", "1000", "-q", "--key-file", "-", img, input=PASS1)
    digest_before = [ln for ln in cs("luksDump", img).stdout.decode().splitlines() if "MK digest" in ln]
    write(root, "etc/resetkit/factory-reset.d/zz-crypt.conf", f"crypto-erase {img}\n")
    run(RESET, root=root, check=0)
    dump = cs("luksDump", img).stdout.decode()
    assert "ENABLED" not in dump and not opens_with(img, PASS1)
    assert [ln for ln in dump.splitlines() if "MK digest" in ln] != digest_before
    med = cert(root)["media"][0]
    assert med["category"] == "purge" and med["verification"]["result"] == "pass"
    assert med["verification"]["places"] == 8


def label(img):
    dump = cs("luksDump", img).stdout.decode()
    return [ln.split(":", 1)[1].strip() for ln in dump.splitlines() if ln.startswith("Label:")][0]


def test_recreate_that_did_not_finish_is_made_again(tmp_path):
    """mkfs needs device-mapper, which this host lacks: the re-creation
    fails after the new header and key, and the volume must still count as
    erased (its label says so), so the next boot makes it again rather than
    leaving a keyslot without a filesystem for good."""
    root, img = rig(tmp_path, options="keyfile=/etc/keys/data.key mkfs=ext4")
    run(RESET, root=root, check=0)
    p = run(["recreate-volumes"], root=root)
    if p.returncode == 0:
        pytest.skip("device-mapper works here: the filesystem was made")
    assert "device-mapper" in p.stderr
    assert label(img) == "resetkit-recreating"
    first = (root / "etc/keys/data.key").read_bytes()
    p = run(["recreate-volumes", "--dry-run"], root=root, check=0)
    assert "would be re-created" in p.stderr
    run(["recreate-volumes"], root=root)
    assert (root / "etc/keys/data.key").read_bytes() != first, "made again, with a new key"
    # with mkfs=none it completes, and the label goes
    write(root, "etc/resetkit/factory-reset.d/zz-crypt.conf", f"crypto-erase {img} keyfile=/etc/keys/data.key mkfs=none\n")
    run(["recreate-volumes"], root=root, check=0)
    assert label(img) == "(no label)"
    assert "left alone" in run(["recreate-volumes"], root=root, check=0).stderr


def test_header_without_keyslots_is_erased_again(tmp_path):
    """What a retry finds after an attempt that destroyed every keyslot but
    could not replace the header (the volume was open: a mapping held it):
    a LUKS2 header with no keyslot, whose key size libcryptsetup can no
    longer tell.  The retry replaces the header all the same (before: the
    fresh header was refused, EINVAL, and the entry failed at every boot)."""
    root, img = rig(tmp_path)
    old_digest = metadata(img)["digests"]["0"]["digest"]
    for slot in ("0", "1"):
        cs("luksKillSlot", "-q", img, slot)
    assert metadata(img)["keyslots"] == {}
    p = run(RESET, root=root)
    assert p.returncode == 0, p.stderr[-1500:]
    m = metadata(img)
    assert m["keyslots"] == {} and all(d["digest"] != old_digest for d in m["digests"].values())
    assert cert(root)["media"][0]["verification"]["result"] == "pass"
