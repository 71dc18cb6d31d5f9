// The WebGPU device layer of smlens' webgpu backend: buffers, a buffer pool, cached compute pipelines
// and one batched command stream. It knows nothing about ops — the Python backend
// (pysrc/smlens/backends/webgpu.py) generates the WGSL and asks this module to run it.
//
// Works in the page's worker (navigator.gpu) and in Node (npm `webgpu`, Dawn): pass the GPU object.
//
// API (handles are small integers so Python holds no JS objects per tensor):
//   const rt = await createWebGPURuntime(gpu, {allowFallback})   -> runtime or null (no adapter)
//   rt.info                        adapter description: {vendor, architecture, device, description,
//                                  isFallbackAdapter, limits}
//   rt.upload(float32Array)        -> handle (the data is copied immediately)
//   rt.alloc(nElements)            -> handle (uninitialised)
//   rt.retain(handle) / rt.free(handle)   reference counting; the last free returns the buffer to the pool
//   rt.compile(wgsl)               -> pipeline id (cached by the WGSL text; compile errors throw)
//   rt.run(pipelineId, handles, [gx, gy, gz])   records one dispatch: handles bind 0..n-1 in order
//   await rt.download(handle)      -> Float32Array (submits what is recorded, then maps a staging buffer)
//   rt.stats                       counters: uploads, downloads, dispatches, bytes, pipelines, ...
//
// GPU work is recorded into one command encoder and submitted only when data must come back (download),
// before a queue write that could overwrite a pooled buffer still read by recorded work, or every
// MAX_PENDING dispatches — so a run of consecutive GPU steps costs one submit.

const MAX_PENDING = 64;

function sizeClass(bytes) {
  // Pool buckets: exact multiples of 256 bytes up to 64 KiB, then powers of two split in 4.
  const b = Math.max(16, bytes);
  if (b <= 65536) return Math.ceil(b / 256) * 256;
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

export async function createWebGPURuntime(gpu, { allowFallback = true, powerPreference = "high-performance" } = {}) {
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) return null;
  const ainfo = adapter.info ?? {};
  const isFallbackAdapter = Boolean(adapter.isFallbackAdapter ?? ainfo.isFallbackAdapter ??
    /swiftshader|llvmpipe|lavapipe|software/i.test(`${ainfo.vendor} ${ainfo.architecture} ${ainfo.device} ${ainfo.description}`));
  if (isFallbackAdapter && !allowFallback) return null;
  const want = {};
  for (const k of ["maxStorageBufferBindingSize", "maxBufferSize", "maxStorageBuffersPerShaderStage",
                   "maxComputeWorkgroupsPerDimension"]) {
    if (adapter.limits?.[k] !== undefined) want[k] = adapter.limits[k];
  }
  const device = await adapter.requestDevice({ requiredLimits: want });
  const rt = new WebGPURuntime(device, {
    vendor: String(ainfo.vendor ?? ""), architecture: String(ainfo.architecture ?? ""),
    device: String(ainfo.device ?? ""), description: String(ainfo.description ?? ""),
    isFallbackAdapter,
    limits: { maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
              maxBufferSize: device.limits.maxBufferSize,
              maxStorageBuffersPerShaderStage: device.limits.maxStorageBuffersPerShaderStage,
              maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension },
  });
  // Keep the GPU object and adapter alive as long as the device: Dawn's Node binding tears its
  // instance down when the GPU object is collected.
  rt.gpu = gpu;
  rt.adapter = adapter;
  return rt;
}

export class WebGPURuntime {
  constructor(device, info) {
    this.device = device;
    this.info = info;
    this.tensors = new Map();   // handle -> {buffer, bytes, refs}
    this.nextHandle = 1;
    this.pool = new Map();      // size class -> [GPUBuffer]
    this.pipelines = new Map(); // wgsl -> id
    this.pipelineList = [];     // id -> GPUComputePipeline
    this.error = null;          // first uncaptured device error (reported by the next call)
    this.encoder = null;
    this.pending = 0;
    this.lost = null;
    device.lost?.then((e) => { this.lost = e?.message || "device lost"; });
    if ("onuncapturederror" in device || device.addEventListener) {
      const onError = (ev) => { this.error ??= ev?.error?.message ?? String(ev); };
      if (device.addEventListener) device.addEventListener("uncapturederror", onError);
      else device.onuncapturederror = onError;
    }
    this.resetStats();
  }

  resetStats() {
    this.stats = { uploads: 0, downloads: 0, dispatches: 0, submits: 0, bytesUp: 0, bytesDown: 0,
                   pipelines: this.pipelines?.size ?? 0, allocs: 0, poolHits: 0 };
  }

  statsJSON() { return JSON.stringify({ ...this.stats, pipelines: this.pipelines.size, live: this.tensors.size }); }

  _check() {
    if (this.lost) throw new Error(`WebGPU: ${this.lost}`);
    if (this.error) { const e = this.error; this.error = null; throw new Error(`WebGPU error: ${e}`); }
  }

  _buffer(bytes) {
    const cls = sizeClass(bytes);
    const free = this.pool.get(cls);
    if (free && free.length) { this.stats.poolHits++; return free.pop(); }
    this.stats.allocs++;
    return this.device.createBuffer({
      size: cls, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  }

  _register(buffer, bytes) {
    const h = this.nextHandle++;
    this.tensors.set(h, { buffer, bytes, refs: 1 });
    return h;
  }

  _get(h) {
    const t = this.tensors.get(h);
    if (!t) throw new Error(`WebGPU: no live tensor with handle ${h}`);
    return t;
  }

  alloc(nElements) {
    this._check();
    const bytes = Math.max(4, nElements * 4);
    return this._register(this._buffer(bytes), bytes);
  }

  upload(data) {
    this._check();
    const arr = data instanceof Float32Array ? data
      : new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
    const bytes = Math.max(4, arr.byteLength);
    const buffer = this._buffer(bytes);
    // A pooled buffer may still be read by recorded (unsubmitted) work; queue writes run before it.
    if (this.pending) this.flush();
    if (arr.byteLength) this.device.queue.writeBuffer(buffer, 0, arr);
    this.stats.uploads++;
    this.stats.bytesUp += arr.byteLength;
    return this._register(buffer, bytes);
  }

  retain(h) { this._get(h).refs++; return h; }

  free(h) {
    const t = this.tensors.get(h);
    if (!t) return;
    if (--t.refs > 0) return;
    this.tensors.delete(h);
    const cls = t.buffer.size;
    if (!this.pool.has(cls)) this.pool.set(cls, []);
    this.pool.get(cls).push(t.buffer);
  }

  compile(wgsl) {
    this._check();
    let id = this.pipelines.get(wgsl);
    if (id === undefined) {
      const module = this.device.createShaderModule({ code: wgsl });
      const p = this.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
      id = this.pipelineList.length;
      this.pipelineList.push(p);
      this.pipelines.set(wgsl, id);
    }
    return id;
  }

  // Compile with validation errors reported (async): for tests and debugging.
  async compileChecked(wgsl) {
    this.device.pushErrorScope("validation");
    const id = this.compile(wgsl);
    const err = await this.device.popErrorScope();
    if (err) throw new Error(`WGSL rejected: ${err.message}\n${wgsl}`);
    return id;
  }

  run(pipelineId, handles, groups, label = "") {
    this._check();
    const pipeline = this.pipelineList[pipelineId];
    if (!pipeline) throw new Error(`WebGPU: unknown pipeline ${pipelineId}`);
    const hs = Array.from(handles);
    const entries = hs.map((h, i) => ({ binding: i, resource: { buffer: this._get(h).buffer } }));
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    const pass = this.encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const g = Array.from(groups);
    pass.dispatchWorkgroups(g[0], g[1] ?? 1, g[2] ?? 1);
    pass.end();
    if (this.trace) this.trace.push({ label, pipeline, bindGroup, g });
    this.stats.dispatches++;
    if (++this.pending >= MAX_PENDING) this.flush();
  }

  flush() {
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.stats.submits++;
    }
    this.encoder = null;
    this.pending = 0;
  }

  async download(h) {
    this._check();
    const t = this._get(h);
    const bytes = t.bytes;
    const staging = this.device.createBuffer({ size: sizeClass(bytes), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(t.buffer, 0, staging, 0, Math.ceil(bytes / 4) * 4);
    this.pending++;
    this.flush();
    await staging.mapAsync(GPUMapMode.READ, 0, Math.ceil(bytes / 4) * 4);
    const out = new Float32Array(staging.getMappedRange(0, Math.ceil(bytes / 4) * 4).slice(0));
    staging.unmap();
    staging.destroy();
    this.stats.downloads++;
    this.stats.bytesDown += bytes;
    this._check();
    return out;
  }

  // GPU profile: `startTrace()`, run a plan, then `await timeTrace()` replays each recorded dispatch
  // alone (submit + wait) and returns milliseconds per label (the kernel generator's name), slowest first.
  startTrace() { this.trace = []; }

  async timeTrace(reps = 1) {
    const trace = this.trace || [];
    this.trace = null;
    await this.sync();
    const per = new Map();
    for (const t of trace) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) {
        const enc = this.device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(t.pipeline);
        pass.setBindGroup(0, t.bindGroup);
        pass.dispatchWorkgroups(t.g[0], t.g[1] ?? 1, t.g[2] ?? 1);
        pass.end();
        this.device.queue.submit([enc.finish()]);
        await this.device.queue.onSubmittedWorkDone();
      }
      const ms = (performance.now() - t0) / reps;
      const e = per.get(t.label) || { label: t.label, ms: 0, count: 0 };
      e.ms += ms;
      e.count++;
      per.set(t.label, e);
    }
    return JSON.stringify([...per.values()].sort((a, b) => b.ms - a.ms));
  }

  // Wait for all recorded work (used by benchmarks to time GPU work without a readback).
  async sync() {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  destroy() {
    this.flush();
    for (const t of this.tensors.values()) t.buffer.destroy();
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.tensors.clear();
    this.pool.clear();
    this.device.destroy?.();
  }
}
