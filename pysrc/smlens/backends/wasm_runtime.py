"""Where the WebAssembly kernel module's memory is, and how its exports are called.

The kernels (web/kernels/wasm/kernels.c) take pointers into the module's memory. Two places run them:

- `PyodideKernels`: in the page / in Pyodide under Node. The module was instantiated with Pyodide's own
  `WebAssembly.Memory` (web/worker.js captures it), so a numpy buffer's address (`a.ctypes.data`) is a
  valid pointer: inputs are used in place, outputs are numpy arrays the kernel writes into.
- `WasmtimeKernels`: natively, for tests only. The module gets a memory of its own; arrays are copied
  in before a call and outputs copied out after it (native runs keep NumPy/BLAS).

Both hand out a `Frame` per call (addresses of inputs, outputs, scratch) and `keep` for buffers that live
as long as a plan (packed weights).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

JS_MODULE = "_smlens_wasm_kernels"  # the name web/worker.js registers the module's exports under
_ALIGN = 16


class Kept:
    """A buffer that lives as long as this object (packed weights, epilogue vectors)."""
    __slots__ = ("addr", "array")

    def __init__(self, addr: int, array: np.ndarray | None):
        self.addr = addr
        self.array = array  # holds the numpy buffer alive in Pyodide; None under wasmtime


class Output:
    __slots__ = ("addr", "array")

    def __init__(self, addr: int, array: np.ndarray):
        self.addr = addr
        self.array = array


def address(a: np.ndarray) -> int:
    """The buffer's address (faster than a.ctypes.data, which builds a ctypes helper object)."""
    return a.__array_interface__["data"][0]


class PyodideKernels:
    """Exports of a module that shares Pyodide's memory: pointers are numpy buffer addresses."""
    name = "pyodide"

    def __init__(self, exports: Any):
        self._exports = exports
        self._fns: dict[str, Callable] = {}

    def fn(self, name: str) -> Callable:
        f = self._fns.get(name)
        if f is None:
            f = self._fns[name] = getattr(self._exports, name)
        return f

    def keep(self, array: np.ndarray) -> Kept:
        a = np.ascontiguousarray(array)
        return Kept(address(a), a)

    def rewrite(self, kept: Kept, array: np.ndarray) -> None:
        """Replace a kept buffer's contents (same size)."""
        kept.array[...] = array

    def frame(self) -> "PyodideFrame":
        return PyodideFrame()


class PyodideFrame:
    __slots__ = ("_refs",)

    def __init__(self):
        self._refs: list = []

    def __enter__(self) -> "PyodideFrame":
        return self

    def __exit__(self, *exc) -> None:
        self._refs.clear()

    def arg(self, a: np.ndarray) -> int:
        # Held until the frame ends: callers pass temporaries (np.ascontiguousarray(...)) whose buffer
        # would otherwise be freed, and reused, before the kernel runs.
        a = np.ascontiguousarray(a)
        self._refs.append(a)
        return address(a)

    def out(self, shape: tuple, dtype=np.float32) -> Output:
        a = np.empty(shape, dtype)
        return Output(address(a), a)

    def scratch(self, nbytes: int) -> int:
        a = np.empty(max(nbytes, 16), np.uint8)
        self._refs.append(a)
        return address(a)


class WasmtimeKernels:
    """The same module under wasmtime (tests): a private memory, arrays copied in and out."""
    name = "wasmtime"

    def __init__(self, wasm_path: str | Path):
        import wasmtime  # test-only dependency

        self._wt = wasmtime
        self._store = wasmtime.Store()
        module = wasmtime.Module.from_file(self._store.engine, str(wasm_path))
        (imp,) = module.imports
        self._base = max(imp.type.limits.min, 16) * 65536  # keep clear of the module's (unused) stack
        self.memory = wasmtime.Memory(self._store, wasmtime.MemoryType(wasmtime.Limits(
            imp.type.limits.min + 16, None)))
        self._instance = wasmtime.Instance(self._store, module, [self.memory])
        self._exports = self._instance.exports(self._store)
        self._top = self._base  # end of kept buffers; frames allocate above it
        self._fns: dict[str, Callable] = {}

    def fn(self, name: str) -> Callable:
        f = self._fns.get(name)
        if f is None:
            func, store = self._exports[name], self._store
            f = self._fns[name] = lambda *args: func(store, *args)
        return f

    def alloc(self, top: int, nbytes: int) -> tuple[int, int]:
        addr = (top + _ALIGN - 1) // _ALIGN * _ALIGN
        end = addr + max(nbytes, 16)
        size = self.memory.data_len(self._store)
        if end > size:
            self.memory.grow(self._store, (end - size + 65535) // 65536)
        return addr, end

    def write(self, addr: int, a: np.ndarray) -> None:
        self.memory.write(self._store, np.ascontiguousarray(a).tobytes(), addr)

    def read(self, addr: int, shape: tuple, dtype) -> np.ndarray:
        n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        raw = self.memory.read(self._store, addr, addr + n)
        return np.frombuffer(bytes(raw), dtype).reshape(shape).copy()

    def keep(self, array: np.ndarray) -> Kept:
        addr, self._top = self.alloc(self._top, array.nbytes)
        self.write(addr, array)
        return Kept(addr, None)

    def rewrite(self, kept: Kept, array: np.ndarray) -> None:
        self.write(kept.addr, array)

    def frame(self) -> "WasmtimeFrame":
        return WasmtimeFrame(self)


class WasmtimeFrame:
    def __init__(self, kernels: WasmtimeKernels):
        self._k = kernels
        self._top = kernels._top
        self._outs: list[tuple[Output, tuple, Any]] = []

    def __enter__(self) -> "WasmtimeFrame":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            for o, shape, dtype in self._outs:
                o.array[...] = self._k.read(o.addr, shape, dtype)

    def arg(self, a: np.ndarray) -> int:
        addr, self._top = self._k.alloc(self._top, a.nbytes)
        self._k.write(addr, a)
        return addr

    def out(self, shape: tuple, dtype=np.float32) -> Output:
        a = np.empty(shape, dtype)
        addr, self._top = self._k.alloc(self._top, a.nbytes)
        o = Output(addr, a)
        self._outs.append((o, a.shape, a.dtype))
        return o

    def scratch(self, nbytes: int) -> int:
        addr, self._top = self._k.alloc(self._top, nbytes)
        return addr


def pyodide_kernels() -> PyodideKernels | None:
    """The page's kernel module, when web/worker.js (or tests/pyodide/run.mjs) registered it."""
    try:
        import importlib

        exports = importlib.import_module(JS_MODULE)
    except ImportError:
        return None
    return PyodideKernels(exports)
