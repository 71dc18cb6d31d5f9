// The Python side of the page: Pyodide + numpy + protobuf + smlens in a dedicated (module) Web Worker.
//
// Protocol (page -> worker): {id, type, args, buffers?, files?}
//   type: "init" | "open" | "describe" | "variables" | "tensor" | "tensor_npy" | "graph" | "run" | "output"
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
  progress(id, "Starting smlens…", 0.93);
  try {
    webapi = pyodide.pyimport("smlens.webapi");
  } catch (err) {
    throw new Error(`the Python packages did not load (${String(err.message || err).split("\n").filter(Boolean).pop()})`);
  }
  const info = JSON.parse(webapi.runtime_info());
  info.timings = { runtime_ms: t1 - t0, packages_ms: t2 - t1, import_ms: performance.now() - t2 };
  return info;
}

function toJsBlobs(pyBlobs) {
  // dict[str, bytes] -> {name: Uint8Array} (copies out of the wasm heap; the buffers are then transferred)
  const out = pyBlobs ? pyBlobs.toJs({ dict_converter: Object.fromEntries }) : {};
  pyBlobs?.destroy();
  return { out, transfer: Object.values(out).map((a) => a.buffer) };
}

function call(kind, id, args, buffers) {
  const onProgress = (text, fraction) => progress(id, text, fraction);
  const result = webapi.handle(kind, JSON.stringify(args ?? {}), buffers ?? [], readSlice, onProgress);
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
  try {
    if (type === "init") {
      initPromise ??= init(id);
      const info = await initPromise;
      postMessage({ id, type: "result", value: info, blobs: {} });
      return;
    }
    if (!initPromise) throw new Error("the Python runtime is not started");
    await initPromise;
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
      const { value, blobs, transfer } = call("open", id, { ...(args || {}), files: entries }, []);
      if (value && value.error) files = previous;
      postMessage({ id, type: "result", value, blobs }, transfer);
      return;
    }
    const { value, blobs, transfer } = call(type, id, args, buffers);
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
