// The JavaScript half of the wasm kernel bridge (pysrc/smlens/backends/wasm_runtime.py is the Python half).
//
// Pyodide 0.27.7 does not expose its WebAssembly.Memory, but hands it to WebAssembly.instantiate as
// imports.env.memory while it loads. captureMemory() wraps instantiate/instantiateStreaming before
// loadPyodide() to keep that object; the kernel module (smlens_kernels.wasm, imports only env.memory)
// is then instantiated with it, so its exports take numpy buffer addresses (a.ctypes.data) and work in
// place. registerKernels() makes the exports importable in Python as `_smlens_wasm_kernels`.
// Used by web/worker.js and tests/pyodide/run.mjs.

export const KERNELS_URL = new URL("./smlens_kernels.wasm", import.meta.url);
export const PYTHON_MODULE = "_smlens_wasm_kernels";

export function captureMemory() {
  const state = { memory: null };
  const { instantiate, instantiateStreaming } = WebAssembly;
  const keep = (imports) => {
    const memory = imports && imports.env && imports.env.memory;
    if (!state.memory && memory instanceof WebAssembly.Memory) state.memory = memory;
  };
  WebAssembly.instantiate = function (source, imports, ...rest) {
    keep(imports);
    return instantiate.call(this, source, imports, ...rest);
  };
  if (instantiateStreaming) {
    WebAssembly.instantiateStreaming = function (source, imports, ...rest) {
      keep(imports);
      return instantiateStreaming.call(this, source, imports, ...rest);
    };
  }
  state.restore = () => {
    WebAssembly.instantiate = instantiate;
    if (instantiateStreaming) WebAssembly.instantiateStreaming = instantiateStreaming;
  };
  return state;
}

// bytes: an ArrayBuffer / typed array of smlens_kernels.wasm (or a Promise of one).
export async function instantiateKernels(bytes, memory) {
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new Error("Pyodide's WebAssembly.Memory was not captured (captureMemory() must run before loadPyodide)");
  }
  const { instance } = await WebAssembly.instantiate(await bytes, { env: { memory } });
  return instance.exports;
}

export function registerKernels(pyodide, exports) {
  pyodide.registerJsModule(PYTHON_MODULE, exports);
}
