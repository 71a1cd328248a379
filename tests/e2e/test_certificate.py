# SPDX-License-Identifier: GPL-2.0-or-later
"""The sanitization certificate (SPEC §3, issue 15): written last by every
reset, signed with [reset] certificate-key when one is configured (a
detached signature the stock openssl verifies too), checked by `resetctl
certificate --verify [--cert CERT]`, which names the problem; a key that
is missing or unreadable leaves the reset complete and the certificate
unsigned, and status says so; the key itself is never removed by the
reset."""
import json
import shutil
import subprocess

import pytest

from rkreset import build_ssr_root, run, snapshot, write

needs_openssl = pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command")

RESET = ["factory-reset", "--yes", "--no-zeroize", "--then", "none"]
CERT = "var/log/resetkit/sanitization.json"
KEY = "usr/lib/resetkit/identity/cert.key"


def keypair(tmp_path, name, kind="ec"):
    priv = tmp_path / f"{name}.key"
    pub = tmp_path / f"{name}.pub"
    if kind == "ec":
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", priv],
                       check=True, capture_output=True)
    else:
        subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", priv], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub], check=True, capture_output=True)
    return priv, pub


def signed_root(tmp_path, kind="ec"):
    priv, pub = keypair(tmp_path, "id", kind)
    root = build_ssr_root(tmp_path / "root", config=f"[reset]\ncertificate-key = /{KEY}\n")
    write(root, KEY, priv.read_bytes(), 0o400)
    return root, priv, pub


@needs_openssl
@pytest.mark.parametrize("kind", ["ec", "ed25519"])
def test_signed_certificate_verifies(tmp_path, kind):
    root, priv, pub = signed_root(tmp_path, kind)
    run(RESET, root=root, check=0)
    c = json.loads((root / CERT).read_text())
    assert c["signature"] == {"state": "signed", "key": f"/{KEY}", "file": "sanitization.json.sig"}
    assert (root / KEY).read_bytes() == priv.read_bytes(), "the reset never removes its signing key"
    p = run(["certificate", "--verify"], root=root, check=0)
    assert "signature: valid" in p.stdout
    p = run(["certificate", "--verify", "--cert", str(pub)], root=root, check=0)
    assert "valid" in p.stdout
    if kind == "ec":
        # the stock tool checks it too: the format is openssl dgst's
        o = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", root / (CERT + ".sig"),
                            root / CERT], capture_output=True, text=True)
        assert o.returncode == 0 and "Verified OK" in o.stdout
    t = run(["certificate"], root=root, check=0).stdout
    assert "signature: detached" in t
    s = json.loads(run(["status", "--json"], root=root, check=0).stdout)
    assert s["certificate"]["signature"] == "signed"


@needs_openssl
def test_tampered_certificate_fails_and_names_it(tmp_path):
    root, priv, pub = signed_root(tmp_path)
    run(RESET, root=root, check=0)
    p = root / CERT
    p.write_text(p.read_text().replace('"complete"', '"complete" ', 1).replace('"users": 2', '"users": 0'))
    r = run(["certificate", "--verify"], root=root)
    assert r.returncode == 3 and "tampered" in r.stderr, r.stderr
    r = run(["certificate", "--verify", "--cert", str(pub)], root=root)
    assert r.returncode == 3 and "tampered" in r.stderr, r.stderr


@needs_openssl
def test_wrong_key_and_missing_signature_are_named(tmp_path):
    root, priv, pub = signed_root(tmp_path)
    run(RESET, root=root, check=0)
    _, other = keypair(tmp_path, "other")
    r = run(["certificate", "--verify", "--cert", str(other)], root=root)
    assert r.returncode == 3 and "wrong key" in r.stderr, r.stderr
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    r = run(["certificate", "--verify", "--cert", str(garbage)], root=root)
    assert r.returncode == 1 and "unusable key" in r.stderr, r.stderr
    (root / (CERT + ".sig")).unlink()
    r = run(["certificate", "--verify"], root=root)
    assert r.returncode == 1 and "missing signature" in r.stderr, r.stderr


@pytest.mark.parametrize("problem", ["missing", "unreadable"])
def test_unusable_key_completes_unsigned(tmp_path, problem):
    root = build_ssr_root(tmp_path / "root", config=f"[reset]\ncertificate-key = /{KEY}\n")
    if problem == "unreadable":
        write(root, KEY, "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n", 0o400)
    p = run(RESET, root=root)
    assert p.returncode == 0, p.stderr
    assert "UNSIGNED" in p.stderr
    c = json.loads((root / CERT).read_text())
    assert c["result"] == "complete" and c["signature"]["state"] == "none"
    why = c["signature"]["why"]
    assert ("cannot be read" in why) if problem == "missing" else ("not a PEM private key" in why)
    assert not (root / (CERT + ".sig")).exists()
    s = run(["status"], root=root, check=0).stdout
    assert "factory reset: complete" in s and "signature: none (" in s and KEY in s
    sj = json.loads(run(["status", "--json"], root=root, check=0).stdout)
    assert sj["certificate"]["signature"] == "none" and sj["certificate"]["why"] == why
    r = run(["certificate", "--verify", "--cert", str(tmp_path / "nothing.pem")], root=root)
    assert r.returncode == 1 and "missing signature" in r.stderr


def test_an_entry_that_removes_the_key_is_refused(tmp_path):
    root = build_ssr_root(tmp_path / "root", config=f"[reset]\ncertificate-key = /{KEY}\n")
    write(root, KEY, "key", 0o400)
    write(root, "etc/resetkit/factory-reset.d/zz.conf", "remove /usr/lib/resetkit/identity\n")
    before = snapshot(root)
    p = run(RESET, root=root)
    assert p.returncode == 6 and "certificate signing key" in p.stderr, p.stderr
    assert snapshot(root) == before


def test_certificate_of_a_failed_reset_and_no_certificate(tmp_path):
    root = build_ssr_root(tmp_path / "root")
    r = run(["certificate"], root=root)
    assert r.returncode == 1 and "no sanitization certificate" in r.stderr
    assert run(["certificate", "--bogus"], root=root).returncode == 2
    assert run(["certificate", "--cert", "x"], root=root).returncode == 2


def test_trigger_fields(tmp_path):
    root = build_ssr_root(tmp_path / "root")
    run(RESET, root=root, check=0)
    assert json.loads((root / CERT).read_text())["trigger"] == "command line"
