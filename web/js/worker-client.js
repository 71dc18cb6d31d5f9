// The page's handle on the Python worker: typed request/response messages with ids, progress events, and
// cancel = terminate the worker, start a fresh one, re-open the same files.

export class ModelError extends Error {
  constructor(message, kind = "SmlensError") {
    super(message);
    this.kind = kind;
  }
}

export class CancelledError extends Error {
  constructor() {
    super("cancelled");
  }
}

export class PyWorker extends EventTarget {
  constructor() {
    super();
    this.nextId = 1;
    this.pending = new Map();
    this.openFiles = null;   // the [{path, file}] and args of the last open, replayed after a restart
    this.openArgs = null;
    this.info = null;
    this.start();
  }

  start() {
    this.worker = new Worker(new URL("../worker.js", import.meta.url), { type: "module" });
    this.worker.onmessage = (e) => this.onMessage(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault?.();
      const err = new ModelError(`the Python worker failed to start: ${e.message || "script error"}`, "WorkerError");
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.ready = this.request("init").then(async (info) => {
      this.info = info;
      if (this.maxMemory) await this.request("limits", { max_memory: this.maxMemory });  // kept across restarts
      this.dispatchEvent(new CustomEvent("ready", { detail: info }));
      return info;
    });
    this.ready.catch(() => {});
  }

  onMessage(msg) {
    const p = this.pending.get(msg.id);
    if (msg.type === "progress") {
      this.dispatchEvent(new CustomEvent("progress", { detail: { ...msg, request: p?.type } }));
      return;
    }
    if (!p) return;
    this.pending.delete(msg.id);
    this.dispatchEvent(new CustomEvent("idle", { detail: { pending: this.pending.size } }));
    if (msg.type === "error") p.reject(new ModelError(msg.message, msg.kind));
    else if (msg.value && msg.value.error) p.reject(new ModelError(msg.value.error.message, msg.value.error.kind));
    else p.resolve(p.withBlobs ? { value: msg.value, blobs: msg.blobs || {} } : msg.value);
  }

  request(type, args = {}, { buffers = [], files = null, withBlobs = false } = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, type, withBlobs });
      const msg = { id, type, args, buffers };
      if (files) msg.files = files;
      this.worker.postMessage(msg);
      this.dispatchEvent(new CustomEvent("busy", { detail: { type } }));
    });
  }

  async call(type, args = {}, options = {}) {
    await this.ready;
    return this.request(type, args, options);
  }

  /** files: [{path, file: File}] */
  async open(files, args = {}) {
    const summary = await this.call("open", args, { files });
    this.openFiles = files;
    this.openArgs = args;
    this.openUrlArgs = null;
    return summary;
  }

  /** A hosted model: args {url, kind: "model" | "file"}; the worker reads it with HTTP range requests. */
  async openUrl(args) {
    const summary = await this.call("open_url", args);
    this.openUrlArgs = args;
    this.openFiles = null;
    return summary;
  }

  /** The allocation budget (bytes) Python checks before creating data from files, attrs and shapes
   * (smlens.limits); null: smlens' default. Re-applied after a cancel restarts the worker. */
  async setMaxMemory(bytes) {
    this.maxMemory = bytes || null;
    await this.ready;
    return this.request("limits", { max_memory: this.maxMemory });
  }

  get busy() {
    return [...this.pending.values()].some((p) => p.type !== "init");
  }

  /** Stop whatever Python is doing: the worker is terminated and a new one re-opens the model. Requests made
   * meanwhile wait until the model is open again. */
  async cancel() {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new CancelledError());
    this.pending.clear();
    this.start();
    const booted = this.ready;
    this.ready = booted.then(async (info) => {
      if (this.openFiles) await this.request("open", this.openArgs || {}, { files: this.openFiles });
      else if (this.openUrlArgs) await this.request("open_url", this.openUrlArgs);
      return info;
    });
    this.ready.catch(() => {});
    return this.ready;
  }
}
