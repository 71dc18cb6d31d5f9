// The JS side of benchmarks/bench_webgpu.py: MobileNetV2 batch 1 and 16 on WebGPU in Node (Dawn), same
// adapter for every runner, printed as one JSON line at the end ("RESULT {...}").
//
//   node benchmarks/webgpu/bench_webgpu.mjs --corpus DIR --tfjs-model DIR [--repeat N] [--batches 1,16]
//        [--runners smlens-numpy,smlens-webgpu,tfjs-webgpu] [--gpu-profile 1]
//
// Runners: smlens in Pyodide with the numpy backend and with the webgpu backend (the same plan, backend
// preference switched with smlens.backends.webgpu.select), and TensorFlow.js 4.22 with its webgpu backend
// (benchmark-only npm packages in benchmarks/webgpu/node_modules). With a real GPU Dawn picks it;
// without one it runs on SwiftShader (software) — the printed adapter says which.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { nodeGpu, relaunchWithGpuEnv } from "../../tests/webgpu/node_gpu.mjs";

relaunchWithGpuEnv();

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const repeat = Number(args.repeat ?? 3);
const batches = (args.batches ?? "1,16").split(",").map(Number);
const runners = (args.runners ?? "smlens-numpy,smlens-webgpu,tfjs-webgpu").split(",");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result = { adapter: null, runs: [] };

function input(batch) {
  const x = new Float32Array(batch * 224 * 224 * 3);
  let s = 12345;
  for (let i = 0; i < x.length; i++) { s = (s * 1103515245 + 12345) >>> 0; x[i] = (s / 2 ** 32) * 2 - 1; }
  return x;
}

async function benchSmlens(gpu) {
  const { loadPyodideWithSmlens } = await import(pathToFileURL(path.join(root, "tests", "webgpu", "run.mjs")).href);
  const { createWebGPURuntime } = await import(pathToFileURL(path.join(root, "web", "js", "webgpu.js")).href);
  const py = await loadPyodideWithSmlens({ withPytest: false });
  const rt = await createWebGPURuntime(gpu);
  py.pyimport("smlens.backends.webgpu").install(rt);
  const corpus = path.resolve(args.corpus);
  py.FS.mkdirTree(corpus);
  py.FS.mount(py.FS.filesystems.NODEFS, { root: corpus }, corpus);
  py.globals.set("_model_dir", path.join(corpus, "mobilenet_v2", "model"));
  py.runPython(`
import time, numpy as np, smlens
from smlens.backends import webgpu
def _bench(backend, batch, repeat, data):
    sel = webgpu.select(backend)
    # a fresh open per backend: plans are cached per model, compiled for the preference of the time
    _sig = smlens.open(_model_dir).meta_graph("serve").signatures["serving_default"]
    _key = next(iter(_sig.inputs))
    x = np.asarray(data.to_py(), np.float32).reshape(batch, 224, 224, 3)
    be = webgpu.backend()
    times = []
    for i in range(repeat + 1):      # the first run compiles the plan (and the GPU pipelines)
        before = be.stats() if be else {}
        t0 = time.perf_counter()
        out = _sig(**{_key: x})
        times.append((time.perf_counter() - t0) * 1e3)
        after = be.stats() if be else {}
    y = next(iter(out.values()))
    transfers = {k: after.get(k, 0) - before.get(k, 0) for k in ("uploads", "downloads", "dispatches")}
    return {"backends": sel["backends"], "first_ms": times[0], "times_ms": times[1:], "transfers": transfers,
            "checksum": float(np.abs(y).sum())}
`);
  const bench = py.globals.get("_bench");
  for (const backend of ["numpy", "webgpu"]) {
    if (!runners.includes(`smlens-${backend}`)) continue;
    for (const batch of batches) {
      const r = (await bench.callPromising(backend, batch, repeat, input(batch))).toJs({ dict_converter: Object.fromEntries });
      const onGpu = r.backends.includes(backend);
      result.runs.push({ runner: `smlens-${backend}`, batch, median_ms: median(r.times_ms), first_ms: r.first_ms,
                         backends: r.backends, transfers: r.transfers, checksum: r.checksum,
                         note: onGpu || backend === "numpy" ? "" : "webgpu backend not in the plan's backends (no plan-compiler registry in this build)" });
      if (backend === "webgpu" && onGpu && args["gpu-profile"]) {
        rt.startTrace();
        await bench.callPromising(backend, batch, 0, input(batch));
        result.runs.at(-1).gpu_profile = JSON.parse(await rt.timeTrace());
      }
      console.log(JSON.stringify(result.runs.at(-1)));
    }
  }
  rt.destroy();
}

async function benchTfjs(gpu) {
  const req = createRequire(path.join(here, "package.json"));
  if (!existsSync(path.join(here, "node_modules", "@tensorflow", "tfjs-backend-webgpu"))) {
    result.runs.push({ runner: "tfjs-webgpu", note: "npm packages missing: npm ci --prefix benchmarks/webgpu" });
    return;
  }
  globalThis.navigator ??= {};
  Object.defineProperty(globalThis.navigator, "gpu", { value: gpu, configurable: true });
  const tf = req("@tensorflow/tfjs");
  req("@tensorflow/tfjs-backend-webgpu");
  await tf.setBackend("webgpu");
  await tf.ready();
  const dir = path.resolve(args["tfjs-model"]);
  const modelJson = JSON.parse(readFileSync(path.join(dir, "model.json"), "utf8"));
  const specs = [];
  const bufs = [];
  for (const group of modelJson.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) bufs.push(readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
  const handler = tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData,
                                     format: modelJson.format, generatedBy: modelJson.generatedBy,
                                     convertedBy: modelJson.convertedBy });
  const model = modelJson.format === "graph-model" ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler);
  for (const batch of batches) {
    const x = tf.tensor(input(batch), [batch, 224, 224, 3]);
    const times = [];
    let checksum = 0;
    for (let i = 0; i < repeat + 1; i++) {
      const t0 = performance.now();
      const y = model.predict(x);
      const data = await (Array.isArray(y) ? y[0] : y).data();
      times.push(performance.now() - t0);
      checksum = data.reduce((a, v) => a + Math.abs(v), 0);
      tf.dispose(y);
    }
    x.dispose();
    result.runs.push({ runner: "tfjs-webgpu", batch, median_ms: median(times.slice(1)), first_ms: times[0], checksum });
    console.log(JSON.stringify(result.runs.at(-1)));
  }
}

const gpu = await nodeGpu();
const adapter = await gpu.requestAdapter();
if (!adapter) { console.error("no WebGPU adapter"); process.exit(2); }
result.adapter = { vendor: adapter.info.vendor, architecture: adapter.info.architecture,
                   device: adapter.info.device, description: adapter.info.description,
                   isFallbackAdapter: Boolean(adapter.isFallbackAdapter ?? adapter.info.isFallbackAdapter) };
console.log(`adapter: ${JSON.stringify(result.adapter)}`);
if (runners.some((r) => r.startsWith("smlens"))) await benchSmlens(gpu);
if (runners.includes("tfjs-webgpu")) await benchTfjs(gpu);
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(0);
