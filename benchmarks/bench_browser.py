"""MobileNetV2 in headless Chromium: smlens in the page per backend vs TensorFlow.js 4.22 wasm, thread for thread.

    python benchmarks/bench_browser.py [--runs N] [--batches 1,4] [--skip-tfjs] [--skip-load]

Prints, for batch 1 and 4: the median run time of the page's own worker (web/worker.js, as the Run view runs a
signature) with the NumPy and the WASM backend, and TensorFlow.js 4.22's wasm backend (SIMD, 1 thread; 2
threads too, for reference) on the same model converted for TF.js (../shared/peers/mobilenet_v2/tfjs), all in
the same browser; the GEMM kernel's GFLOP/s on MobileNetV2's 1x1-convolution shapes; and page-load-to-ready
before (the same site with web/worker.js as it was before the kernel module) and after.

Benchmark-only dependencies: TF.js is installed by this script from benchmarks/tfjs/package-lock.json
(`npm ci`) into .cache/bench-tfjs, never into the site or CI. The MobileNetV2 model comes from
../shared/corpus (or SMLENS_CORPUS). Run `python build.py build` first (or this script builds if needed).
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("SMLENS_SHARED", ROOT.parent / "shared"))
CORPUS = Path(os.environ.get("SMLENS_CORPUS", SHARED / "corpus"))
TFJS_DIR = ROOT / ".cache" / "bench-tfjs"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

sys.path.insert(0, str(ROOT))
import build  # noqa: E402


def ensure_tfjs() -> Path:
    """node_modules with @tensorflow/tfjs and tfjs-backend-wasm 4.22.0 (npm ci from the committed lock)."""
    lock = HERE / "tfjs" / "package-lock.json"
    stamp = TFJS_DIR / ".lock-sha256"
    want = build.sha256_file(lock)
    if not (stamp.exists() and stamp.read_text().strip() == want):
        TFJS_DIR.mkdir(parents=True, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(HERE / "tfjs" / f, TFJS_DIR / f)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=TFJS_DIR, check=True)
        stamp.write_text(want + "\n")
    return TFJS_DIR / "node_modules" / "@tensorflow"


def link_tree(dst: Path, entries: dict[str, Path]) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name, target in entries.items():
        (dst / name).symlink_to(target)


def serve_root(tmp: Path, site: Path, model: Path, tfjs: Path | None, worker_js: Path | None) -> Path:
    """A folder served like the site: the site's entries, the bench pages, the model, TF.js and its model."""
    root = tmp / f"root{len(list(tmp.iterdir()))}"
    entries = {p.name: p for p in site.iterdir() if p.name != "worker.js" or worker_js is None}
    if worker_js is not None:
        entries["worker.js"] = worker_js
    entries["bench"] = HERE / "browser"
    link_tree(root, entries)
    mdir = root / "model"
    mdir.mkdir()
    files = sorted(str(p.relative_to(model)) for p in model.rglob("*") if p.is_file())
    for f in files:
        (mdir / f).parent.mkdir(parents=True, exist_ok=True)
        (mdir / f).symlink_to(model / f)
    (mdir / "files.json").write_text(json.dumps(files))
    if tfjs is not None:
        (root / "tfjs-core").symlink_to(tfjs / "tfjs-core" / "dist")
        (root / "tfjs-converter").symlink_to(tfjs / "tfjs-converter" / "dist")
        (root / "tfjs-wasm").symlink_to(tfjs / "tfjs-backend-wasm" / "dist")
        (root / "peer").symlink_to(SHARED / "peers" / "mobilenet_v2" / "tfjs")
    return root


class PeerHandler(build.SiteHandler):
    """The site's headers (cross-origin isolated), but TF.js's page may start its threads from blob: workers,
    which the product's Content-Security-Policy forbids."""
    quiet = True

    def end_headers(self) -> None:
        for key, value in build.SECURITY_HEADERS.items():
            if key != "Content-Security-Policy" or not self.path.startswith("/bench/tfjs"):
                self.send_header(key, value)
        http.server.SimpleHTTPRequestHandler.end_headers(self)


def serve(root: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(PeerHandler, directory=str(root)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def wait_result(page, timeout_s: float) -> dict:
    page.wait_for_function("() => window.benchResult !== undefined", timeout=timeout_s * 1000, polling=200)
    result = page.evaluate("() => window.benchResult")
    if "error" in result:
        raise RuntimeError(result["error"])
    return result


def before_worker_js() -> str:
    """web/worker.js as it was before the kernel module was loaded (the commit that introduced bridge.js's
    parent), so 'before' and 'after' differ only in the worker."""
    git = ["git", "-C", str(ROOT)]
    first = subprocess.run([*git, "log", "--format=%H", "--diff-filter=A", "--", "web/kernels/wasm/bridge.js"],
                           check=True, capture_output=True, text=True).stdout.split()[-1]
    return subprocess.run([*git, "show", f"{first}^:web/worker.js"], check=True, capture_output=True,
                          text=True).stdout


def page_ready_ms(browser, url: str, loads: int) -> list[float]:
    """Navigation start to body[data-runtime=ready] (the app's worker answered init), fresh context each time."""
    out = []
    for _ in range(loads):
        ctx = browser.new_context()
        page = ctx.new_page()
        t0 = time.perf_counter()
        page.goto(url)
        page.wait_for_selector("body[data-runtime=ready]", state="attached", timeout=120_000)
        out.append((time.perf_counter() - t0) * 1000)
        ctx.close()
    return out


def gemm_gflops(browser, url: str) -> dict:
    page = browser.new_page()
    page.goto(url + "bench/gemm.html")
    res = wait_result(page, 300)
    page.close()
    return res


def med(xs) -> float:
    return statistics.median(xs) if xs else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--batches", default="1,4")
    ap.add_argument("--backends", default="numpy,wasm")
    ap.add_argument("--loads", type=int, default=3, help="page loads per variant for load-to-ready")
    ap.add_argument("--skip-tfjs", action="store_true")
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument("--profile", default="wasm", help="backend whose per-step profile (batch 1) is printed; '' = none")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args(argv)

    model = CORPUS / "cases" / "mobilenet_v2" / "model"
    if not (model / "variables" / "variables.index").exists():
        print(f"MobileNetV2 not found at {model} (set SMLENS_CORPUS)", file=sys.stderr)
        return 2
    site = build.build_if_needed()
    tfjs = None if args.skip_tfjs else ensure_tfjs()
    from playwright.sync_api import sync_playwright

    results: dict = {}
    with tempfile.TemporaryDirectory() as tmpname, sync_playwright() as pw:
        tmp = Path(tmpname)
        after = serve_root(tmp, site, model, tfjs, None)
        server, url = serve(after)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: m.type == "error" and print("[page]", m.text, file=sys.stderr))
            page.goto(f"{url}bench/smlens.html?runs={args.runs}&batches={args.batches}&backends={args.backends}"
                      f"&profile={args.profile}")
            results["smlens"] = wait_result(page, 1800)
            page.close()
            results["gemm"] = gemm_gflops(browser, url)
            if tfjs is not None:
                results["tfjs"] = {}
                for threads in (1, 2):
                    page = browser.new_page()
                    page.goto(f"{url}bench/tfjs.html?threads={threads}&runs={max(args.runs, 20)}&batches={args.batches}")
                    results["tfjs"][threads] = wait_result(page, 600)
                    page.close()
            if not args.skip_load:
                before_worker = tmp / "worker-main.js"
                before_worker.write_text(before_worker_js())
                before = serve_root(tmp, site, model, None, before_worker)
                server_b, url_b = serve(before)
                try:
                    b_ms, a_ms = [], []
                    for _ in range(args.loads):  # interleaved, so both see the same machine load
                        b_ms += page_ready_ms(browser, url_b, 1)
                        a_ms += page_ready_ms(browser, url, 1)
                    results["load"] = {"before_ms": b_ms, "after_ms": a_ms}
                finally:
                    server_b.shutdown()
        finally:
            browser.close()
            server.shutdown()
    report(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


def report(results: dict, args) -> None:
    sm = results["smlens"]
    print(f"\nMobileNetV2 224x224 in headless Chromium (median and min of {args.runs} runs; ms; machine load "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  wasm kernels in the page: {sm.get('wasm_kernels')}")
    tf1 = results.get("tfjs", {}).get(1) or results.get("tfjs", {}).get("1")
    tf2 = results.get("tfjs", {}).get(2) or results.get("tfjs", {}).get("2")
    for b in args.batches.split(","):
        line = [f"  batch {b}:"]
        for backend, per_batch in sm["results"].items():
            r = per_batch[b]
            line.append(f"smlens {backend} {med(r['times']):8.1f} (min {min(r['times']):.1f})")
        if tf1:
            line.append(f"TF.js wasm 1 thread {med(tf1['batches'][b]):7.1f} (min {min(tf1['batches'][b]):.1f})")
        if tf2:
            line.append(f"(2 threads {med(tf2['batches'][b]):.1f})")
        print("  ".join(line))
        if tf1 and "wasm" in sm["results"]:
            ratio = med(sm["results"]["wasm"][b]["times"]) / med(tf1["batches"][b])
            print(f"    smlens wasm / TF.js wasm (1 thread): {ratio:.2f}x"
                  f"{'  (target <= 1.0: met)' if ratio <= 1.0 else '  (target <= 1.0: NOT met)'}")
    for backend, per_batch in sm["results"].items():
        print(f"  steps per backend with {backend}: {per_batch[args.batches.split(',')[0]].get('backends')}")
    prof = sm.get("profile")
    if prof:
        print(f"\nper-step profile in the page ({prof['backend']}, batch 1, median run {prof['total_ms']:.1f} ms; "
              f"steps' sum {sum(r['ms'] for r in prof['steps']):.1f} ms), slowest 25:")
        for r in prof["steps"][:25]:
            shapes = " ".join("x".join(map(str, s)) if s and not isinstance(s[0], list) else str(s) for s in r["in"])
            print(f"  {r['ms']:8.3f}  {r['op']:<30} {r['backend']:<6} {shapes}")
        by_op: dict = {}
        for r in prof["steps"]:
            key = (r["op"], r["backend"])
            by_op[key] = by_op.get(key, 0.0) + r["ms"]
        print("  by op: " + ", ".join(f"{op}/{b} {ms:.1f}" for (op, b), ms in sorted(by_op.items(), key=lambda kv: -kv[1])))
    g = results.get("gemm")
    if g:
        print(f"\nGEMM kernel (f32x4, packed B, 4x8 tiles) in Chromium: MobileNetV2 1x1-conv shapes "
              f"{g['total_gflops']:.1f} GFLOP/s overall")
        for row in g["shapes"]:
            print(f"  M={row['M']:>6} K={row['K']:>5} N={row['N']:>5}: {row['ms']:7.3f} ms {row['gflops']:6.1f} GFLOP/s")
    load = results.get("load")
    if load:
        b, a = med(load["before_ms"]), med(load["after_ms"])
        print(f"\npage load to ready, the site with web/worker.js before/after the kernel module (median of {len(load['after_ms'])}): before {b:.0f} ms, after {a:.0f} ms "
              f"({(a / b - 1) * 100:+.1f}%; target <= +10%)")


if __name__ == "__main__":
    sys.exit(main())
