# SPDX-License-Identifier: GPL-2.0-or-later
"""The fault-injection points of the build (lib/base/fault.h): which names
are kill points (RK_FAULT: the process dies there) and which are failure
points (RK_FAIL: the operation after it fails with an errno), and how often a
run passes each one.

RESETKIT_FAULT_TRACE writes both kinds as bare names, so the kind comes from
the source: every RK_FAULT("...") and RK_FAIL("...") under lib/ and src/.
Nothing here is a fixed list: points other modules add are found the same
way, and the trace of a real run says which ones a test reaches and how
often."""
import collections
import os
import re
from pathlib import Path

SRC = Path(os.environ.get("RESETKIT_SRC_DIR", Path(__file__).resolve().parents[2]))
_POINT = re.compile(r'\b(RK_FAULT|RK_FAIL)\(\s*"([^"]+)"\s*\)')


def declared():
    """{"RK_FAULT": {names}, "RK_FAIL": {names}} as written in the source."""
    kinds = {"RK_FAULT": set(), "RK_FAIL": set()}
    for top in ("lib", "src"):
        for p in sorted((SRC / top).rglob("*.[ch]")):
            if p.name in ("fault.h", "fault.c"):
                continue        # the mechanism itself: its comments show made-up names
            for kind, name in _POINT.findall(p.read_text(errors="replace")):
                kinds[kind].add(name)
    return kinds


def trace_counts(path):
    """name -> how many times the traced run passed it."""
    path = Path(path)
    return collections.Counter(path.read_text().split()) if path.exists() else collections.Counter()


def kill_points(counts):
    """The RK_FAULT points of a trace, name -> occurrences."""
    kill = declared()["RK_FAULT"]
    return {n: c for n, c in counts.items() if n in kill}


def fail_points(counts):
    """The RK_FAIL points of a trace, name -> occurrences."""
    fail = declared()["RK_FAIL"]
    return {n: c for n, c in counts.items() if n in fail}


def spread(n, cap):
    """Occurrences 1..n, or at most cap of them evenly spread, first and
    last always included."""
    if n <= cap:
        return list(range(1, n + 1))
    picks = {1, n}
    step = (n - 1) / (cap - 1)
    picks.update(1 + round(i * step) for i in range(cap))
    return sorted(picks)
