"""Fuzz smlens' readers, views and graph compiler with structure-aware mutants of the test models.

    python scripts/fuzz.py --count 100000 --jobs 2            # long run: prints figures as it goes
    python scripts/fuzz.py --seed 1 --only 4711 --save /tmp/m  # reproduce one mutant, keep its files

Each mutant runs in a forked child with a time and address-space limit. Outcomes: ok, clean (one
SmlensError), and the non-clean ones: other exception, hang, memory, crash, wrong data. Exit status 1 when
any mutant was non-clean.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "pysrc"))

from fuzz import harness  # noqa: E402


def _worker(args) -> tuple[dict, list]:
    run_seed, indices, limits = args
    seeds = _seeds()
    bad: list = []

    def keep(r):
        if r.outcome in harness.BAD or r.outcome == "skipped":
            bad.append(r)

    counts = harness.run(seeds, run_seed, indices, limits, keep)
    return counts, bad


_SEEDS = None


def _seeds():
    global _SEEDS
    if _SEEDS is None:
        _SEEDS = harness.load_seeds()
    return _SEEDS


def save(run_seed: int, index: int, out: str) -> None:
    seed, files, what, _ = harness.mutant(_seeds(), run_seed, index)
    for rel, data in files.items():
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    print(f"mutant {index} ({what}) written to {out}; open path {seed.open_path!r}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--batch", type=int, default=500, help="mutants per work unit (figures print per unit)")
    p.add_argument("--seconds", type=float, default=10.0, help="CPU seconds per mutant (wall clock: 3x)")
    p.add_argument("--memory-mb", type=int, default=1024, help="address space a mutant may add")
    p.add_argument("--only", type=int, help="run just this mutant and print its outcome")
    p.add_argument("--save", help="with --only: write the mutant's files here")
    a = p.parse_args(argv)
    limits = harness.Limits(a.seconds, a.memory_mb << 20)
    if a.only is not None:
        if a.save:
            save(a.seed, a.only, a.save)
        counts, bad = _worker((a.seed, [a.only], limits))
        for r in bad:
            print(f"{r.outcome}: {r.what}: {r.detail}")
        print({k: v for k, v in counts.items() if v})
        return 1 if bad else 0
    units = [(a.seed, range(s, min(s + a.batch, a.start + a.count)), limits)
             for s in range(a.start, a.start + a.count, a.batch)]
    total: Counter = Counter()
    by_seed: Counter = Counter()
    t0 = time.monotonic()
    done = 0
    print(f"fuzz: {a.count} mutants from {a.start}, seed {a.seed}, {a.jobs} job(s), "
          f"limits {a.seconds:g} s / {a.memory_mb} MiB per mutant", flush=True)
    with ProcessPoolExecutor(a.jobs) as pool:
        for counts, bad in pool.map(_worker, units):
            total.update(counts)
            done += sum(counts.values())
            for r in bad:
                by_seed[r.seed] += 1
                print(f"  {'NON-CLEAN' if r.outcome in harness.BAD else 'note'} #{r.index} {r.outcome}: {r.what}: {r.detail}", flush=True)
            rate = done / (time.monotonic() - t0)
            print(f"{done} mutants, {rate:.1f}/s: " + ", ".join(f"{k} {total[k]}" for k in harness.OUTCOMES),
                  flush=True)
    elapsed = time.monotonic() - t0
    nonclean = sum(total[k] for k in harness.BAD)
    print(f"done: {done} mutants in {elapsed:.0f} s ({done / elapsed:.1f}/s); non-clean {nonclean}; "
          + ", ".join(f"{k} {total[k]}" for k in harness.OUTCOMES), flush=True)
    return 1 if nonclean else 0


if __name__ == "__main__":
    sys.exit(main())
