"""MobileNetV2 (batch 1 and 16) on WebGPU: smlens' webgpu backend vs its numpy backend vs TensorFlow.js 4.22's
webgpu backend, all on the same adapter, in Node with Dawn (npm `webgpu`). Prints the adapter, per-runner
median times, the ratio to TF.js webgpu and smlens' transfers per run (uploads/downloads/dispatches).

    python benchmarks/bench_webgpu.py [--repeat N] [--batches 1,16] [--runners smlens-numpy,smlens-webgpu,tfjs-webgpu]

Runs unchanged on a machine with a GPU (Dawn picks it: Vulkan on Linux, Metal, D3D12); without one it uses
Chromium's SwiftShader (software, `isFallbackAdapter: true`) — numbers from it say nothing about GPU speed.
Data: ../shared/corpus/cases/mobilenet_v2 and ../shared/peers/mobilenet_v2/tfjs relative to the checkout, or
SMLENS_SHARED. Needs `python build.py test` once (Pyodide wheels in .cache); installs the benchmark-only npm
packages with `npm ci --prefix benchmarks/webgpu`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def shared_dir() -> str:
    """SMLENS_SHARED, else `shared/` beside the checkout (or beside its parent, for git worktrees)."""
    if os.environ.get("SMLENS_SHARED"):
        return os.environ["SMLENS_SHARED"]
    for up in ("..", os.path.join("..", "..")):
        cand = os.path.normpath(os.path.join(ROOT, up, "shared"))
        if os.path.isdir(cand):
            return cand
    return os.path.join(ROOT, "..", "shared")


def ensure_npm() -> None:
    pkg = os.path.join(HERE, "webgpu")
    if not os.path.isdir(os.path.join(pkg, "node_modules", "@tensorflow", "tfjs-backend-webgpu")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", pkg], check=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--runners", default="smlens-numpy,smlens-webgpu,tfjs-webgpu")
    ap.add_argument("--gpu-profile", action="store_true", help="time each kernel kind of one webgpu run")
    a = ap.parse_args(argv)
    corpus = os.path.join(shared_dir(), "corpus", "cases")
    tfjs = os.path.join(shared_dir(), "peers", "mobilenet_v2", "tfjs")
    if not os.path.isdir(os.path.join(corpus, "mobilenet_v2")):
        print(f"skipped: no MobileNetV2 model under {corpus} (set SMLENS_SHARED)")
        return 0
    if shutil.which("node") is None:
        print("skipped: node not found")
        return 0
    ensure_npm()
    cmd = ["node", os.path.join(HERE, "webgpu", "bench_webgpu.mjs"), "--corpus", corpus, "--tfjs-model", tfjs,
           "--repeat", str(a.repeat), "--batches", a.batches, "--runners", a.runners]
    if a.gpu_profile:
        cmd += ["--gpu-profile", "1"]
    # progress lines (one JSON object per finished measurement) are echoed as they come
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    result = None
    for line in proc.stdout:
        if line.startswith("RESULT "):
            result = line[len("RESULT "):]
        else:
            print(f"  {line.rstrip()}", flush=True)
    if proc.wait() != 0 or result is None:
        return proc.returncode or 1
    res = json.loads(result)
    ad = res["adapter"]
    kind = "SOFTWARE (SwiftShader) - not a GPU measurement" if ad["isFallbackAdapter"] else "hardware GPU"
    print(f"adapter: {ad['vendor']} {ad['architecture']} {ad['device']} ({ad['description']}) - {kind}")
    peer = {r["batch"]: r["median_ms"] for r in res["runs"] if r["runner"] == "tfjs-webgpu" and "median_ms" in r}
    print(f"{'runner':<16}{'batch':>6}{'median ms':>12}{'first ms':>11}{'vs tfjs-webgpu':>16}  transfers / backends")
    for r in res["runs"]:
        if "median_ms" not in r:
            print(f"{r['runner']:<16}  {r.get('note', '')}")
            continue
        ratio = f"{r['median_ms'] / peer[r['batch']]:.2f}x" if r["batch"] in peer else "-"
        extra = ""
        if "transfers" in r:
            t = r["transfers"]
            extra = f"up {t['uploads']} down {t['downloads']} dispatches {t['dispatches']} on {'+'.join(r['backends'])}"
        if r.get("note"):
            extra += f" ({r['note']})"
        print(f"{r['runner']:<16}{r['batch']:>6}{r['median_ms']:>12.1f}{r['first_ms']:>11.1f}{ratio:>16}  {extra}")
        for k in r.get("gpu_profile", []):
            print(f"{'':<16}  {k['label']:<14}{k['count']:>4} dispatches {k['ms']:>10.1f} ms (replayed one by one)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
