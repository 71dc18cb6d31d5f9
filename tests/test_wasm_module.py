"""The committed WebAssembly kernel module: current with its source, and safe to instantiate inside
Pyodide's memory (imports only the memory, no data segments, never touches the shadow stack)."""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
WASM_DIR = ROOT / "web" / "kernels" / "wasm"
MODULE = WASM_DIR / "smlens_kernels.wasm"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_committed_module_matches_its_source_stamp():
    stamp = json.loads((WASM_DIR / "smlens_kernels.json").read_text())
    assert stamp["source_sha256"] == sha256(WASM_DIR / "kernels.c"), \
        "kernels.c changed since the module was built: run `python build.py wasm` and commit the module"
    assert stamp["module_sha256"] == sha256(MODULE)


def test_rebuilding_with_the_pinned_toolchain_reproduces_the_committed_module(build):
    zig = build.zig_path()
    if not zig.exists():
        pytest.skip(f"pinned Zig not installed at {zig} (build.py test installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "k.wasm"
        build.compile_wasm_kernels(zig, out)
        assert out.read_bytes() == MODULE.read_bytes(), "rebuilt module differs: run `python build.py wasm`"


def test_module_has_no_data_segments_and_imports_only_memory(build):
    ids = build.wasm_section_ids(MODULE.read_bytes())
    assert 11 not in ids and 12 not in ids  # data, data count
    wasmtime = pytest.importorskip("wasmtime")
    module = wasmtime.Module.from_file(wasmtime.Engine(), str(MODULE))
    assert [(i.module, i.name) for i in module.imports] == [("env", "memory")]
    assert isinstance(module.imports[0].type, wasmtime.MemoryType)


def test_build_refuses_shadow_stack_use(build, monkeypatch):
    zig = build.zig_path()
    if not zig.exists():
        pytest.skip(f"pinned Zig not installed at {zig}")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "kernels.c"
        shutil.copy(WASM_DIR / "kernels.c", src)
        with open(src, "a") as f:  # a local array indexed at run time lives on the shadow stack
            f.write('\n__attribute__((export_name("bad"))) float bad(int i) { volatile float t[64]; '
                    "for (int j = 0; j < 64; j++) t[j] = (float)j; return t[i & 63]; }\n")
        monkeypatch.setattr(build, "WASM_SOURCE", src)
        monkeypatch.setattr(build, "ROOT", Path(tmp))
        with pytest.raises(build.BuildError, match="shadow stack"):
            build.compile_wasm_kernels(zig, Path(tmp) / "k.wasm")


def test_kernels_leave_memory_below_their_buffers_untouched():
    """Every export run once under wasmtime with memory below the first buffer filled with a
    pattern: a kernel that used the shadow stack (at its link-time address, inside Pyodide's heap
    in the page) or wrote out of bounds would change it."""
    pytest.importorskip("wasmtime")
    from smlens.backends.wasm import WasmBackend
    from smlens.backends.wasm_runtime import WasmtimeKernels
    import test_wasm_kernels as t

    kernels = WasmtimeKernels(MODULE)
    base = kernels._base
    pattern = (np.arange(base, dtype=np.uint32) * 2654435761 % 251).astype(np.uint8)
    kernels.memory.write(kernels._store, pattern.tobytes(), 0)
    be = WasmBackend(kernels)
    t.test_conv2d(be, t.CONV_CASES[3])
    t.test_fused_epilogues(be, "conv3x3", ["BiasAdd", "Add", "Relu"])
    t.test_fused_epilogues(be, "depthwise", ["FusedBatchNorm", "Relu6"])
    t.test_matmul(be, 17, 33, 9, False, True, False)
    t.test_pool(be, "AvgPool", (1, 9, 10, 6), 3, 1, "SAME", "NHWC")
    t.test_binary(be, "Sub", (2, 7, 7, 24), (24,))
    t.test_mean(be, (3, 5, 6), [1], True)
    t.test_clamp(be, "Relu6")
    t.test_pad(be, "Pad", (2, 3, 4, 9), [[0, 0], [2, 1], [3, 0], [0, 0]], None)
    after = np.frombuffer(bytes(kernels.memory.read(kernels._store, 0, base)), np.uint8)
    assert np.array_equal(after, pattern)
