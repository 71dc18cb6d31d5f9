"""Time signature runs with smlens, onnxruntime (when installed and the case has an ONNX peer) and
TensorFlow (when available); print medians and ratios, measured in one run on this machine.

    python benchmarks/bench_run.py [--repeat N] [--profile] [--cases mobilenet_v2,keras_cnn] [--threads N]

Cases: MobileNetV2 batch 1 and 4, keras_cnn, transformer_tiny (each skipped when its model is absent).
smlens and onnxruntime run interleaved in this process (onnxruntime: pip install --no-deps --require-hashes
-r benchmarks/requirements.txt); "smlens -passes" is smlens with every optional compiler pass off.
"smlens" uses the default backends (the native one where `python build.py native` built it); "numpy" is
the NumPy backend alone (what a run without the native library, and Pyodide without WASM, gets).
TensorFlow runs in this interpreter when importable, else in a subprocess with the interpreter named by
$SMLENS_TF_PYTHON, else it is skipped. Shared data: $SMLENS_SHARED, else ../shared beside the checkout (or beside a parent folder).
--threads N pins onnxruntime's intra-op threads and (when set before start-up, as this script does by
re-executing itself) OpenBLAS's; 0 keeps each library's default. --profile prints smlens's per-step profile.
Project target: smlens <= 2x onnxruntime (median) for MobileNetV2 batch 1 and 4.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _shared() -> str:
    """$SMLENS_SHARED, else the nearest `shared` folder beside the checkout or one of its parents."""
    if os.environ.get("SMLENS_SHARED"):
        return os.environ["SMLENS_SHARED"]
    d = os.path.dirname(ROOT)
    while True:
        if os.path.isdir(os.path.join(d, "shared")):
            return os.path.join(d, "shared")
        if os.path.dirname(d) == d:
            return os.path.join(os.path.dirname(ROOT), "shared")
        d = os.path.dirname(d)


SHARED = _shared()
CASES = [("mobilenet_v2", "serving_default", 1), ("mobilenet_v2", "serving_default", 4),
         ("keras_cnn", "serving_default", 8), ("transformer_tiny", "serving_default", 1)]
ONNX_PEERS = {"mobilenet_v2": os.path.join(SHARED, "peers", "mobilenet_v2", "onnx", "model.onnx")}
CORPUS_DIRS = [os.path.join(SHARED, "corpus", "cases"), os.path.join(ROOT, "tests", "data", "corpus"),
               os.path.join(ROOT, "tests", "data", "zoo_keras")]


def _pin_threads() -> None:
    """--threads N: OpenBLAS reads its thread count at load time, so re-execute with it set."""
    if "--threads" not in sys.argv or os.environ.get("_SMLENS_BENCH_PINNED"):
        return
    n = sys.argv[sys.argv.index("--threads") + 1]
    if n != "0":
        env = dict(os.environ, OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n, _SMLENS_BENCH_PINNED="1")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


_pin_threads()
sys.path.insert(0, os.path.join(ROOT, "pysrc"))

import numpy as np  # noqa: E402

import smlens  # noqa: E402
from smlens.backends import native, registry  # noqa: E402
from smlens.runtime.options import CompileOptions  # noqa: E402
from smlens.runtime.passes import OPTIONAL  # noqa: E402
from smlens.runtime.plan import compile_signature  # noqa: E402
from smlens.runtime.profile import format_report, profile_plan  # noqa: E402


def find_model(case: str) -> str | None:
    """The case's model dir, preferring one whose variables are all there (shared corpus has the data)."""
    for root in CORPUS_DIRS:
        model = os.path.join(root, case, "model")
        variables = os.path.join(model, "variables")
        if os.path.isdir(model) and (not os.path.exists(os.path.join(variables, "variables.index"))
                                     or any(f.startswith("variables.data") for f in os.listdir(variables))):
            return model
    return None


def make_inputs(sig, batch: int, seed: int = 0) -> dict:
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


def smlens_runner(model: str, signature: str, inputs: dict, disabled=(), backends=None):
    sig = smlens.open(model).meta_graph().signatures[signature]
    plan = compile_signature(sig, CompileOptions(frozenset(disabled), None if backends is None else tuple(backends),
                                                 from_env=False))
    plan.run(inputs)  # first run: variable loading, init op
    return (lambda: plan.run(inputs)), plan


def ort_runner(case: str, inputs: dict, threads: int):
    path = ONNX_PEERS.get(case)
    if path is None or not os.path.exists(path):
        return None
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feeds = {i.name: v for i, v in zip(sess.get_inputs(), inputs.values())}
    sess.run(None, feeds)
    return lambda: sess.run(None, feeds)


def interleaved(runners: dict, repeat: int) -> dict:
    """Median seconds per runner, the runners taking turns (so machine load hits them alike)."""
    times: dict = {k: [] for k in runners}
    for _ in range(repeat):
        for k, fn in runners.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: float(np.median(v)) for k, v in times.items()}


_TF_SCRIPT = r"""
import json, sys, time, numpy as np
args = json.loads(sys.argv[1])
import tensorflow as tf
if args["threads"]:
    tf.config.threading.set_intra_op_parallelism_threads(args["threads"])
m = tf.saved_model.load(args["model"])
fn = m.signatures[args["signature"]]
data = np.load(args["inputs"], allow_pickle=False)
inputs = {k: tf.constant(data[k]) for k in data.files}
fn(**inputs)
ts = []
for _ in range(args["repeat"]):
    t = time.perf_counter(); r = fn(**inputs); [v.numpy() for v in r.values()]; ts.append(time.perf_counter() - t)
print("RESULT " + json.dumps({"median": float(np.median(ts))}))
"""


def tf_python() -> str | None:
    try:
        import tensorflow  # noqa: F401
        return sys.executable
    except ImportError:
        return os.environ.get("SMLENS_TF_PYTHON") or None


def time_tf(model: str, signature: str, inputs: dict, repeat: int, threads: int) -> float | None:
    python = tf_python()
    if python is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "inputs.npz")
        np.savez(path, **inputs)
        args = json.dumps({"model": model, "signature": signature, "inputs": path, "repeat": repeat,
                           "threads": threads})
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        proc = subprocess.run([python, "-c", _TF_SCRIPT, args], capture_output=True, text=True, env=env,
                              timeout=900)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])["median"]
    sys.stderr.write(f"TensorFlow run failed for {model}:\n{proc.stderr[-2000:]}\n")
    return None


def _ms(t: float | None) -> str:
    return f"{t * 1e3:8.2f} ms" if t else "       -   "


def _ratio(a: float, b: float | None) -> str:
    return f"{a / b:5.2f}x" if b else "    -"


def bench_case(case: str, signature: str, batch: int, a) -> None:
    model = find_model(case)
    if model is None:
        print(f"{case}: skipped (no model with variable data under {SHARED} or tests/data)")
        return
    sig = smlens.open(model).meta_graph().signatures[signature]
    inputs = make_inputs(sig, batch)
    ours, plan = smlens_runner(model, signature, inputs)
    runners = {"smlens": ours, "smlens numpy": smlens_runner(model, signature, inputs, backends=["numpy"])[0],
               "smlens -passes": smlens_runner(model, signature, inputs, OPTIONAL)[0]}
    ort = None if a.no_ort else ort_runner(case, inputs, a.threads)
    if ort is not None:
        runners["onnxruntime"] = ort
    t = interleaved(runners, a.repeat)
    tf_t = None if a.no_tf else time_tf(model, signature, inputs, a.repeat, a.threads)
    s, ort_t = t["smlens"], t.get("onnxruntime")
    print(f"{case:16s} b{batch:<2d} smlens {_ms(s)} ({plan.num_steps} steps) | numpy {_ms(t['smlens numpy'])}"
          f" | -passes {_ms(t['smlens -passes'])}"
          f" | onnxruntime {_ms(ort_t)} | TF {_ms(tf_t)} | smlens/ort {_ratio(s, ort_t)}"
          f" | smlens/TF {_ratio(s, tf_t)}", flush=True)
    if a.profile:
        print(format_report(profile_plan(plan, inputs, runs=3), top=a.profile_top))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--profile_top", type=int, default=12)
    p.add_argument("--no-tf", action="store_true")
    p.add_argument("--no-ort", action="store_true")
    p.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    a = p.parse_args()
    wanted = set(filter(None, a.cases.split(",")))
    print(f"threads: {a.threads or 'library defaults'}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"
          f"; repeat {a.repeat} (medians); backends {registry.preference()}"
          + ("" if native.available() else " (native library not built: python build.py native)"))
    for case, signature, batch in CASES:
        if not wanted or case in wanted:
            bench_case(case, signature, batch, a)


if __name__ == "__main__":
    main()
