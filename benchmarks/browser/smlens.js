// benchmarks/bench_browser.py: MobileNetV2 run in the page's own worker (web/worker.js), as the Run view runs
// it, once per backend. Query: ?runs=10&backends=numpy,wasm&batches=1,4. Result in window.benchResult.
const q = new URLSearchParams(location.search);
const runs = Number(q.get("runs") || 10);
const backends = (q.get("backends") || "numpy,wasm").split(",");
const batches = (q.get("batches") || "1,4").split(",").map(Number);

let nextId = 1;
const pending = new Map();
const worker = new Worker("/worker.js", { type: "module" });
worker.onmessage = (e) => {
  const { id, type, value, message } = e.data;
  if (type === "progress") return;
  const p = pending.get(id);
  pending.delete(id);
  if (type === "error") p.reject(new Error(message));
  else p.resolve(value);
};
function request(type, args = {}, extra = {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, type, args, ...extra });
  });
}

function npyFloat32(shape, seed) {
  // A .npy file (format 1.0) of float32 values in [-1, 1).
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")},), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  const text = header + " ".repeat(pad) + "\n";
  const n = shape.reduce((a, b) => a * b, 1);
  const buf = new Uint8Array(10 + text.length + 4 * n);
  buf.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length & 255, text.length >> 8]);
  buf.set(new TextEncoder().encode(text), 10);
  const data = new Float32Array(buf.buffer, 10 + text.length, n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return buf;
}

(async () => {
  try {
    const t0 = performance.now();
    const info = await request("init");
    const readyMs = performance.now() - t0;
    const list = await (await fetch("/model/files.json")).json();
    const files = [];
    for (const p of list) {
      const blob = await (await fetch(`/model/${p}`)).blob();
      files.push({ path: `mobilenet_v2/${p}`, file: new File([blob], p.split("/").pop()) });
    }
    const opened = await request("open", { name: "mobilenet_v2" }, { files });
    if (opened.error) throw new Error(opened.error.message);
    const out = { ready_ms: readyMs, wasm_kernels: info.wasm_kernels, results: {} };
    for (const backend of backends) {
      out.results[backend] = {};
      for (const b of batches) {
        const buffer = npyFloat32([b, 224, 224, 3], 7);
        const args = { signature: "serving_default", backend,
                       inputs: { keras_tensor: { mode: "npy", buffer: 0, filename: "x.npy" } } };
        const times = [];
        let last = null;
        for (let i = 0; i < runs + 2; i++) {
          const res = await request("run", args, { buffers: [buffer] });
          if (res.error) throw new Error(res.error.message);
          if (i >= 2) times.push(res.run_ms);
          last = res;
        }
        out.results[backend][b] = { times, plan_ms: last.plan_ms, backends: last.backends ?? null,
                                    top: last.outputs?.[0]?.topk?.[0]?.top?.[0] ?? null };
      }
    }
    if (q.get("profile")) {
      const profBackend = q.get("profile");
      const res = await request("run", { signature: "serving_default", backend: profBackend, profile: true,
        inputs: { keras_tensor: { mode: "npy", buffer: 0, filename: "x.npy" } } }, { buffers: [npyFloat32([1, 224, 224, 3], 7)] });
      if (res.error) throw new Error(res.error.message);
      out.profile = { backend: profBackend, ...res.profile };
    }
    window.benchResult = out;
  } catch (err) {
    window.benchResult = { error: String(err && err.stack || err) };
  }
})();
