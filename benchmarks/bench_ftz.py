"""Cost of TF's denormal flushing (kernels/ftz.py) on a real model: the same signature run with the
flushing kernels and with the plain ones, interleaved (min and median of N runs each).

    python benchmarks/bench_ftz.py [--model ../shared/corpus/cases/mobilenet_v2/model] [--runs 8]

(../shared relative to the checkout, or $SMLENS_SHARED.)
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import smlens
from smlens.kernels import KERNELS

SHARED = Path(os.environ.get("SMLENS_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))
DEFAULT = SHARED / "corpus" / "cases" / "mobilenet_v2" / "model"


def _runner(path: str):
    sig = smlens.open(path).meta_graph().signatures["serving_default"]
    feeds = {k: np.random.default_rng(0).random([d if d > 0 else 1 for d in s.shape], dtype=np.float32)
             for k, s in sig.inputs.items()}
    sig(**feeds)   # compile and warm up
    return lambda: sig(**feeds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(DEFAULT))
    ap.add_argument("--runs", type=int, default=8)
    a = ap.parse_args()
    flushing = _runner(a.model)
    saved = dict(KERNELS)
    for name, spec in saved.items():   # plans capture kernels when compiled: compile a second one unwrapped
        if getattr(spec.fn, "flushes_denormals", False) and hasattr(spec.fn, "__wrapped__"):
            KERNELS[name] = replace(spec, fn=spec.fn.__wrapped__)
    try:
        plain = _runner(a.model)
    finally:
        KERNELS.update(saved)
    times: dict[str, list[float]] = {"flushing": [], "plain": []}
    for _ in range(a.runs):
        for name, fn in (("flushing", flushing), ("plain", plain)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    f, p = times["flushing"], times["plain"]
    print(f"{Path(a.model).parent.name}: flushing min {min(f) * 1e3:.1f} ms, median {statistics.median(f) * 1e3:.1f} ms; "
          f"plain min {min(p) * 1e3:.1f} ms, median {statistics.median(p) * 1e3:.1f} ms; "
          f"ratio (min) {min(f) / min(p):.3f}")


if __name__ == "__main__":
    main()
