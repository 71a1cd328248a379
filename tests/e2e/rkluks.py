# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the crypto-erase tests: LUKS2 image files made with the real
cryptsetup (header operations need no device-mapper), with fast PBKDF
settings so the tests stay fast, and a look at their keyslot areas."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

PASS1 = b"old-passphrase-1"
PASS2 = b"old-passphrase-2"
FAST = ["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"]

needs_cryptsetup = pytest.mark.skipif(not shutil.which("cryptsetup"), reason="needs cryptsetup (cryptsetup-bin)")


def cs(*args, input=None, check=True):
    return subprocess.run(["cryptsetup", *[str(a) for a in args]], input=input, capture_output=True,
                          check=check)


def make_luks2(path: Path, mib=20, token=True):
    """A LUKS2 image with two keyslots and a token (a TPM2-style one)."""
    with open(path, "wb") as f:
        f.truncate(mib << 20)
    cs("luksFormat", "--type", "luks2", *FAST, "-q", "--key-file", "-", path, input=PASS1)
    k2 = path.with_suffix(".k2")
    k2.write_bytes(PASS2)
    cs("luksAddKey", *FAST, "-q", "--key-file", "-", path, k2, input=PASS1)
    if token:
        cs("token", "import", path, input=b'{"type":"rk-tpm2-test","keyslots":["1"]}')
    return path


def metadata(path: Path):
    return json.loads(cs("luksDump", "--dump-json-metadata", path).stdout)


def keyslot_areas(path: Path):
    """[(offset, size)] of every keyslot's binary area, from the header."""
    m = metadata(path)
    return [(int(k["area"]["offset"]), int(k["area"]["size"])) for k in m["keyslots"].values()]


def opens_with(path: Path, passphrase: bytes):
    return cs("luksOpen", "--test-passphrase", "--key-file", "-", path, input=passphrase,
              check=False).returncode == 0


def read_areas(path: Path, areas):
    data = path.read_bytes()
    return [data[o:o + n] for o, n in areas]
