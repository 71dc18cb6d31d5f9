"""A short, deterministic fuzz run (the long one: scripts/fuzz.py): structure-aware mutants of the test
models, each in a forked child with time and memory limits; every outcome must be clean."""
from __future__ import annotations

import os
import sys

import pytest

from fuzz import harness

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "emscripten",
                                reason="needs os.fork (child processes with limits)")

COUNT = 210   # 30 per seed model; about 10-30 s on a loaded 2-core machine


def test_short_fuzz_run_is_all_clean():
    seeds = harness.load_seeds()
    bad = []
    counts = harness.run(seeds, 20261206, range(COUNT), harness.Limits(seconds=10, memory=1 << 30, wall=120),
                         lambda r: bad.append(r) if r.outcome in harness.BAD + ("skipped",) else None)
    assert sum(counts.values()) == COUNT
    assert not bad, "\n".join(f"#{r.index} {r.outcome}: {r.what}: {r.detail}" for r in bad)
    # the mutants reach the checks (clean errors) and also produce valid models (ok)
    assert counts["clean"] > COUNT // 5 and counts["ok"] > COUNT // 10


def test_mutants_are_deterministic():
    seeds = harness.load_seeds()
    a = harness.mutant(seeds, 5, 17)
    b = harness.mutant(seeds, 5, 17)
    assert a[1] == b[1] and a[2] == b[2]


# Mutants the long runs found non-clean (seed, index), fixed since: each must stay clean.
FOUND_BY_LONG_RUNS = [(2026, 4482), (2026, 77846), (2026, 92066)]   # 0-input Switch; malformed inlined bodies


def test_mutants_found_by_long_runs_stay_clean():
    seeds = harness.load_seeds()
    bad = []
    for run_seed, index in FOUND_BY_LONG_RUNS:
        harness.run(seeds, run_seed, [index], harness.Limits(seconds=10, memory=1 << 30, wall=120),
                    lambda r: bad.append(r) if r.outcome in harness.BAD + ("skipped",) else None)
    assert not bad, "\n".join(f"#{r.index} {r.outcome}: {r.what}: {r.detail}" for r in bad)
