// The Python side of the page: Pyodide + numpy + protobuf + smlens in a dedicated (module) Web Worker.
//
// Protocol (page -> worker): {id, type, args, buffers?, files?}
//   type: "init" | "open" | "describe" | "variables" | "tensor" | "tensor_npy" | "graph" | "run" | "output"
//         | "open_url" (a hosted model: {url, kind}; files are read with httpRange below)
//         | "backend" ({choice: "auto"|"webgpu"|"wasm"|"numpy"} -> adapter info and the backends chosen)
//         | "limits" (args.max_memory: smlens.limits' allocation budget in bytes, handled here)
//   (every type but init maps to smlens.webapi.handle(type, ...); buffers: Uint8Arrays of uploaded inputs)
// (worker -> page): {id, type: "progress", text, fraction} | {id, type: "result", value, blobs}
//                   | {id, type: "error", message, kind}
// "cancel" is handled by the page: it terminates this worker and starts a new one (a busy worker cannot read
// messages while Python runs), then re-opens the same File objects.
//
// User files stay File objects: Python reads them through smlens.webapi.FileSource, which calls readSlice()
// below; FileReaderSync on File.slice reads only the bytes asked for, so a multi-GB checkpoint is listed
// without reading its shards.

import { loadPyodide } from "./pyodide/pyodide.mjs";
import { createWebGPURuntime } from "./js/webgpu.js";
import { captureMemory, instantiateKernels, KERNELS_URL, registerKernels } from "./kernels/wasm/bridge.js";

const base = new URL("./", import.meta.url);
let pyodide = null;
let webapi = null;
let files = [];            // [{path, file}] of the model currently open
let initPromise = null;

function progress(id, text, fraction) {
  postMessage({ id, type: "progress", text, fraction });
}

function readSlice(index, offset, length) {
  const entry = files[index];
  if (!entry) throw new Error(`no file #${index}`);
  const blob = entry.file.slice(offset, offset + length);
  return new Uint8Array(new FileReaderSync().readAsArrayBuffer(blob));
}

async function init(id) {
  const t0 = performance.now();
  progress(id, "Downloading the Python runtime (Pyodide)…", 0.03);
  // WebAssembly SIMD kernels: fetched in parallel with Pyodide, instantiated in Pyodide's own memory.
  const wasmMemory = captureMemory();
  const kernelBytes = fetch(KERNELS_URL).then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(`HTTP ${r.status}`))));
  kernelBytes.catch(() => {});
  pyodide = await loadPyodide({
    indexURL: new URL("pyodide/", base).href,
    stdout: (line) => console.log("[py]", line),
    stderr: (line) => console.warn("[py]", line),
  });
  const t1 = performance.now();
  progress(id, "Loading numpy, protobuf and smlens…", 0.6);
  // build.py adds protobuf and smlens to pyodide-lock.json beside numpy, so they load by name.
  const pkgs = ["numpy", "protobuf", "smlens"];
  let done = 0;
  await pyodide.loadPackage(pkgs, {
    messageCallback: (msg) => {
      if (/^Loaded /.test(msg)) return;
      done += 1;
      progress(id, msg, Math.min(0.9, 0.6 + 0.1 * done));
    },
    errorCallback: (msg) => console.warn(msg),
  });
  const t2 = performance.now();
  wasmMemory.restore();
  const wasmKernels = await startWasmKernels(wasmMemory.memory, kernelBytes);
  progress(id, "Starting smlens…", 0.93);
  try {
    webapi = pyodide.pyimport("smlens.webapi");
  } catch (err) {
    throw new Error(`the Python packages did not load (${String(err.message || err).split("\n").filter(Boolean).pop()})`);
  }
  if (wasmKernels.ok) {
    wasmKernels.registered = pyodide.runPython("from smlens.backends import wasm\nwasm.register_in_pyodide()");
  }
  const info = JSON.parse(webapi.runtime_info());
  info.wasm_kernels = wasmKernels;
  info.timings = { runtime_ms: t1 - t0, packages_ms: t2 - t1, import_ms: performance.now() - t2 };
  return info;
}

// Registers the kernel module for Python (smlens.backends.wasm); the page falls back to NumPy without it.
async function startWasmKernels(memory, bytes) {
  try {
    registerKernels(pyodide, await instantiateKernels(bytes, memory));
    return { ok: true };
  } catch (err) {
    console.warn("WebAssembly kernels unavailable, NumPy runs every step:", err);
    return { ok: false, error: String(err?.message ?? err) };
  }
}

function toJsBlobs(pyBlobs) {
  // dict[str, bytes] -> {name: Uint8Array} (copies out of the wasm heap; the buffers are then transferred)
  const out = pyBlobs ? pyBlobs.toJs({ dict_converter: Object.fromEntries }) : {};
  pyBlobs?.destroy();
  return { out, transfer: Object.values(out).map((a) => a.buffer) };
}

// ---- webgpu backend: device layer, backend choice, runs through JSPI (see README "WebGPU backend")
let gpuRuntime;            // undefined: not tried yet; null: no adapter
const jspi = typeof WebAssembly.Suspending === "function" || typeof WebAssembly.promising === "function";

async function selectBackend(choice) {
  if (gpuRuntime === undefined) {
    try {
      gpuRuntime = jspi ? await createWebGPURuntime(self.navigator?.gpu) : null;
    } catch (err) {
      console.warn("WebGPU unavailable:", err);
      gpuRuntime = null;
    }
    if (gpuRuntime) pyodide.pyimport("smlens.backends.webgpu").install(gpuRuntime);
  }
  const sel = pyodide.pyimport("smlens.backends.webgpu").select(choice || "auto");
  try {
    return sel.toJs({ dict_converter: Object.fromEntries });
  } finally {
    sel.destroy();
  }
}

// With a WebGPU runtime installed, a run may block on GPU read-backs (pyodide.ffi.run_sync): enter
// Python through JSPI (callPromising) so it can wait.
async function handle(...args) {
  if (gpuRuntime && jspi && webapi.handle.callPromising) return await webapi.handle.callPromising(...args);
  return webapi.handle(...args);
}

async function call(kind, id, args, buffers, reader = readSlice) {
  const onProgress = (text, fraction) => progress(id, text, fraction);
  const result = await handle(kind, JSON.stringify(args ?? {}), buffers ?? [], reader, onProgress);
  try {
    const json = result.get(0);
    const { out, transfer } = toJsBlobs(result.get(1));
    const value = JSON.parse(json);
    return { value, blobs: out, transfer };
  } finally {
    result.destroy();
  }
}

self.onmessage = async (event) => {
  const { id, type, args, buffers } = event.data;
  currentRequest = id;
  try {
    if (type === "init") {
      initPromise ??= init(id);
      const info = await initPromise;
      postMessage({ id, type: "result", value: info, blobs: {} });
      return;
    }
    if (!initPromise) throw new Error("the Python runtime is not started");
    await initPromise;
    if (type === "backend") {
      postMessage({ id, type: "result", value: await selectBackend(args?.choice), blobs: {} });
      return;
    }
    if (type === "limits") {
      // The page's memory setting: smlens.limits' allocation budget (null restores the default).
      const limits = pyodide.pyimport("smlens.limits");
      limits.set_max_memory(args?.max_memory || limits.DEFAULT_MAX_MEMORY);
      postMessage({ id, type: "result", value: { max_memory: limits.max_memory() }, blobs: {} });
      return;
    }
    if (type === "open") {
      // A failed open leaves the previous model open in Python: it must keep reading its own files.
      const previous = files;
      files = event.data.files || [];
      const entries = files.map((f) => ({ path: f.path, size: f.file.size }));
      const { value, blobs, transfer } = await call("open", id, { ...(args || {}), files: entries }, []);
      if (value && value.error) files = previous;
      postMessage({ id, type: "result", value, blobs }, transfer);
      return;
    }
    if (type === "open_url") {
      const { value, blobs, transfer } = await call("open_url", id, args, [], httpRange);
      if (value && !value.error) files = [];
      postMessage({ id, type: "result", value, blobs }, transfer);
      return;
    }
    const { value, blobs, transfer } = await call(type, id, args, buffers);
    postMessage({ id, type: "result", value, blobs }, transfer);
  } catch (err) {
    postMessage({ id, type: "error", message: errorMessage(err), kind: err?.type || "Error" });
  }
};

function errorMessage(err) {
  // PythonError messages carry a traceback; webapi returns user errors as results, so anything here is
  // unexpected: show its last line only (the traceback goes to the console).
  const text = String(err?.message ?? err);
  if (err && err.constructor && err.constructor.name === "PythonError") {
    console.error(text);
    const lines = text.trim().split("\n").filter(Boolean);
    return `internal error: ${lines[lines.length - 1]}`;
  }
  return text;
}

// ---- hosted models (open by URL): Python's smlens.httpsource.HttpSource reads through this transport.
// Synchronous XHR is allowed in workers and lets Python read like from a file: (url, start, end) ->
// [status, bytes, Content-Range]; start null = the whole file, end inclusive.

let currentRequest = null;
const fetched = { bytes: 0, requests: 0 };

function formatBytes(n) {
  return n < 1e3 ? `${n} B` : n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`;
}

function httpRange(url, start, end) {
  const xhr = new XMLHttpRequest();
  xhr.open("GET", url, false);
  xhr.responseType = "arraybuffer";
  if (start != null) xhr.setRequestHeader("Range", `bytes=${start}-${end != null ? end : ""}`);
  try {
    xhr.send();
  } catch (err) {
    return [0, new Uint8Array(0), ""];      // network error or CORS refusal: Python names the file
  }
  const body = new Uint8Array(xhr.response || new ArrayBuffer(0));
  fetched.bytes += body.length;
  fetched.requests += 1;
  if (currentRequest != null) {
    postMessage({ id: currentRequest, type: "progress", fraction: null, fetched: { ...fetched },
      text: `Fetched ${formatBytes(fetched.bytes)} in ${fetched.requests} requests (${url.split("/").pop()})` });
  }
  return [xhr.status, body, xhr.getResponseHeader("Content-Range") || ""];
}
