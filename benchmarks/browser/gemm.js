// benchmarks/bench_browser.py: GFLOP/s of the wasm GEMM kernel (packed B, 4x8 f32x4 tiles) on MobileNetV2's
// 1x1-convolution shapes (M = pixels, K = input channels, N = output channels), in its own memory.
const SHAPES = [[12544, 32, 16], [12544, 16, 96], [3136, 96, 24], [3136, 24, 144], [3136, 144, 24], [784, 144, 32],
  [784, 32, 192], [784, 192, 32], [196, 192, 64], [196, 64, 384], [196, 384, 64], [196, 384, 96], [196, 96, 576],
  [196, 576, 96], [49, 576, 160], [49, 160, 960], [49, 960, 160], [49, 960, 320], [49, 320, 1280], [256, 256, 256]];

(async () => {
  try {
    const bytes = await (await fetch("/kernels/wasm/smlens_kernels.wasm")).arrayBuffer();
    const memory = new WebAssembly.Memory({ initial: 2048 });
    const k = (await WebAssembly.instantiate(bytes, { env: { memory } })).instance.exports;
    const f32 = new Float32Array(memory.buffer);
    const base = 2 << 20;
    const rows = [];
    let flops = 0, ms = 0;
    for (const [M, K, N] of SHAPES) {
      const A = base, B = A + M * K * 4 + 64, Bp = B + K * N * 4 + 64;
      const C = Bp + Math.ceil(N / 8) * 8 * K * 4 + 64, E = C + M * N * 4 + 64;
      for (let i = 0; i < M * K; i++) f32[A / 4 + i] = Math.random() - 0.5;
      for (let i = 0; i < K * N; i++) f32[B / 4 + i] = Math.random() - 0.5;
      f32.fill(0, E / 4, E / 4 + 8);
      k.pack_b(B, K, N, N, 1, Bp);
      const reps = Math.max(3, Math.ceil(1e8 / (2 * M * N * K)));
      k.gemm(M, N, K, A, K, Bp, C, N, E);
      let best = Infinity;
      for (let r = 0; r < 5; r++) {
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) k.gemm(M, N, K, A, K, Bp, C, N, E);
        best = Math.min(best, (performance.now() - t0) / reps);
      }
      const f = 2 * M * N * K;
      if (M !== 256) { flops += f; ms += best; }
      rows.push({ M, K, N, ms: best, gflops: f / best / 1e6 });
    }
    window.benchResult = { shapes: rows, total_gflops: flops / ms / 1e6 };
  } catch (err) {
    window.benchResult = { error: String(err && err.stack || err) };
  }
})();
