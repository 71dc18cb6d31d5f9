// benchmarks/bench_browser.py: MobileNetV2 (../shared/peers/mobilenet_v2/tfjs) on TensorFlow.js 4.22's wasm
// backend. Query: ?threads=1&batch=1&runs=20. Writes the result to window.benchResult.
(async () => {
  const q = new URLSearchParams(location.search);
  const threads = Number(q.get("threads") || 1), runs = Number(q.get("runs") || 20);
  const batches = (q.get("batches") || "1,4").split(",").map(Number);
  try {
    tf.wasm.setWasmPaths("/tfjs-wasm/");
    if (threads === 1) tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    else tf.wasm.setThreadsCount(threads);
    await tf.setBackend("wasm");
    await tf.ready();
    const model = await tf.loadGraphModel("/peer/model.json");
    const out = { backend: tf.getBackend(), threads, simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
                  multithread: await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"), batches: {} };
    for (const b of batches) {
      const x = tf.randomUniform([b, 224, 224, 3], -1, 1);
      const times = [];
      for (let i = 0; i < runs + 3; i++) {
        const t0 = performance.now();
        const y = model.predict(x);
        await y.data();
        const t = performance.now() - t0;
        y.dispose();
        if (i >= 3) times.push(t);
      }
      x.dispose();
      out.batches[b] = times;
    }
    window.benchResult = out;
  } catch (err) {
    window.benchResult = { error: String(err && err.stack || err) };
  }
})();
