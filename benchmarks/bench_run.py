"""Time signature runs with smlens and (when available) TensorFlow; print medians and the ratio.

    python benchmarks/bench_run.py [--repeat N] [--profile] [--cases mobilenet_v2,keras_cnn]

Cases: MobileNetV2 batch 1 and 4, keras_cnn, transformer_tiny (each skipped when its model is absent).
TensorFlow runs in this interpreter when importable, else in a subprocess with the interpreter named by
$SMLENS_TF_PYTHON when set, else it is skipped. --profile adds, per case, the kernels that take the most time.
Project target: smlens <= 3x TensorFlow's CPU time for MobileNetV2 batch 1.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pysrc"))

import smlens  # noqa: E402

SHARED = os.environ.get("SMLENS_SHARED") or os.path.join(HERE, "..", "..", "shared")  # ../shared beside the checkout
CORPUS_DIRS = [os.path.join(SHARED, "corpus", "cases"),
               os.path.join(HERE, "..", "tests", "data", "corpus"), os.path.join(HERE, "..", "tests", "data", "zoo_keras")]
TF_PYTHON = os.environ.get("SMLENS_TF_PYTHON", "")  # a Python with TensorFlow, for the comparison
CASES = [("mobilenet_v2", "serving_default", 1), ("mobilenet_v2", "serving_default", 4),
         ("keras_cnn", "serving_default", 8), ("transformer_tiny", "serving_default", 1)]


def find_model(case: str) -> str | None:
    """The case's model dir, preferring one whose variables are all there (shared corpus has the data)."""
    for root in CORPUS_DIRS:
        model = os.path.join(root, case, "model")
        if os.path.isdir(model) and (not os.path.exists(os.path.join(model, "variables", "variables.index"))
                                     or any(f.startswith("variables.data")
                                            for f in os.listdir(os.path.join(model, "variables")))):
            return model
    return None


def make_inputs(sig, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for key, spec in sig.inputs.items():
        shape = tuple(batch if d < 0 else d for d in (spec.shape or (batch,)))
        name = spec.dtype.name if spec.dtype else "float32"
        if name.startswith("float") or name == "bfloat16":
            out[key] = rng.random(shape, dtype=np.float32).astype(spec.dtype.np)
        elif name.startswith(("int", "uint")):
            out[key] = rng.integers(0, 10, shape).astype(spec.dtype.np)
        elif name == "bool":
            out[key] = rng.random(shape) < 0.5
        else:
            out[key] = np.full(shape, b"x", dtype=object)
    return out


def time_smlens(sig, inputs: dict, repeat: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    sig.plan()
    sig(**inputs)  # first run: variable loading, init op
    first = time.perf_counter() - t0
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        sig(**inputs)
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), first


def profile_smlens(sig, inputs: dict, runs: int = 3) -> list[tuple[str, float, int]]:
    """(op type, ms per run, calls per run) of the kernels, slowest first (function calls excluded)."""
    from smlens.runtime.executor import StaticProgram
    plan = sig.plan()
    programs = [plan.program] + [p.program for p in plan.runtime.functions._plans.values()]
    spent: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()
    saved = []
    for prog in programs:
        if not isinstance(prog, StaticProgram):
            continue
        saved.append((prog, prog.steps))
        wrapped = []
        for fn, ins, outs, frees, k in prog.steps:
            op = prog.infos[k].op

            def timed(*a, _fn=fn, _op=op):
                t = time.perf_counter()
                try:
                    return _fn(*a)
                finally:
                    spent[_op] += time.perf_counter() - t
                    calls[_op] += 1
            wrapped.append((timed, ins, outs, frees, k))
        prog.steps = wrapped
    try:
        for _ in range(runs):
            sig(**inputs)
    finally:
        for prog, steps in saved:
            prog.steps = steps
    rows = [(op, t / runs * 1000, calls[op] // runs) for op, t in spent.items()
            if op not in ("StatefulPartitionedCall", "PartitionedCall")]
    return sorted(rows, key=lambda r: -r[1])


_TF_SCRIPT = r"""
import json, sys, time, numpy as np
args = json.loads(sys.argv[1])
import tensorflow as tf
m = tf.saved_model.load(args["model"])
fn = m.signatures[args["signature"]]
data = np.load(args["inputs"], allow_pickle=False)
inputs = {k: tf.constant(data[k]) for k in data.files}
t0 = time.perf_counter(); fn(**inputs); first = time.perf_counter() - t0
ts = []
for _ in range(args["repeat"]):
    t = time.perf_counter(); r = fn(**inputs); [v.numpy() for v in r.values()]; ts.append(time.perf_counter() - t)
print("RESULT " + json.dumps({"median": float(np.median(ts)), "first": first}))
"""


def time_tf(model: str, signature: str, inputs: dict, repeat: int) -> float | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "inputs.npz")
        np.savez(path, **inputs)
        args = json.dumps({"model": model, "signature": signature, "inputs": path, "repeat": repeat})
        try:
            import tensorflow  # noqa: F401
            python = sys.executable
        except ImportError:
            if not TF_PYTHON or not os.path.exists(TF_PYTHON):
                return None
            python = TF_PYTHON
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        proc = subprocess.run([python, "-c", _TF_SCRIPT, args], capture_output=True, text=True, env=env,
                              timeout=900)
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[7:])["median"]
        sys.stderr.write(f"TensorFlow run failed for {model}:\n{proc.stderr[-2000:]}\n")
        return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--no-tf", action="store_true")
    p.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    a = p.parse_args()
    wanted = set(filter(None, a.cases.split(",")))
    rows = []
    for case, signature, batch in CASES:
        if wanted and case not in wanted:
            continue
        model = find_model(case)
        if model is None:
            print(f"{case}: skipped (no model with variable data)")
            continue
        sig = smlens.open(model).meta_graph().signatures[signature]
        inputs = make_inputs(sig, batch)
        ours, first = time_smlens(sig, inputs, a.repeat)
        tf_t = None if a.no_tf else time_tf(model, signature, inputs, a.repeat)
        ratio = f"{ours / tf_t:6.2f}x" if tf_t else "     -"
        tf_ms = f"{tf_t * 1000:9.2f}" if tf_t else "        -"
        rows.append(f"{case:18s} batch {batch:<3d} smlens {ours * 1000:9.2f} ms  TF {tf_ms} ms  ratio {ratio}"
                    f"  (first run {first * 1000:.0f} ms, {sig.plan().num_steps} top-level steps)")
        print(rows[-1], flush=True)
        if a.profile:
            for op, ms, n in profile_smlens(sig, inputs)[:8]:
                print(f"    {op:28s} {ms:9.2f} ms  x{n}")


if __name__ == "__main__":
    main()
