"""Tree snapshots for "nothing changed" assertions: every name below a root
with its type, mode, owner and content hash (or link target), the root
itself included; None when the root does not exist."""
import hashlib
import os
import stat
from pathlib import Path


def _entry(p):
    st = os.lstat(p)
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(p))
    if stat.S_ISDIR(st.st_mode):
        return ("dir", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    if stat.S_ISREG(st.st_mode):
        with open(p, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        return ("file", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, digest)
    return ("special", stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode))


def snapshot(root, skip=()):
    """skip: root-relative paths left out with everything below them."""
    root = Path(root)
    if not os.path.lexists(root):
        return None
    out = {".": _entry(root)}
    if out["."][0] == "link":
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if any(rel == s or rel.startswith(s + "/") for s in skip):
                continue
            out[rel] = _entry(p)
    return out
