"""The page's run request with a backend choice and a per-step profile (webapi), natively with the wasm
backend on wasmtime (in the page it is Pyodide's memory: tests/e2e/test_wasm_backend.py)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from smlens.backends import registry
from test_webapi import CORPUS, Files, call, open_files, ref, run

MODULE = Path(__file__).resolve().parents[1] / "web" / "kernels" / "wasm" / "smlens_kernels.wasm"


@pytest.fixture(scope="module")
def wasm_registered():
    pytest.importorskip("wasmtime")
    from smlens.backends.wasm import WasmBackend
    from smlens.backends.wasm_runtime import WasmtimeKernels
    registry.register(WasmBackend(WasmtimeKernels(MODULE)))
    yield
    registry.unregister("wasm")


def npy_buffer(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def test_runtime_info_lists_backends(wasm_registered):
    import json

    from smlens import webapi
    info = json.loads(webapi.runtime_info())
    assert "numpy" in info["backends"] and "wasm" in info["backends"]


@pytest.mark.parametrize("backend", ["numpy", "wasm", "auto"])
def test_run_on_a_chosen_backend_matches_tensorflow(wasm_registered, backend):
    files = Files(CORPUS / "keras_cnn" / "model")
    open_files(files)
    r = ref("keras_cnn")
    x = r["serving_default/inputs/image"]
    out = run(files, "serving_default", {"image": {"mode": "npy", "buffer": 0, "filename": "x.npy"}},
              [npy_buffer(x)]) if backend == "auto" else \
        call("run", {"signature": "serving_default", "backend": backend,
                     "inputs": {"image": {"mode": "npy", "buffer": 0, "filename": "x.npy"}}},
             files, [npy_buffer(x)])[0]
    assert "error" not in out, out
    assert out["backend"] == backend
    if backend == "wasm":
        assert out["backends"]["wasm"] >= 8 and out["backends"]["numpy"] >= 1
    elif backend == "numpy":
        assert set(out["backends"]) == {"numpy"}
    else:  # the registry's preference natively: the native backend where its library is built, then NumPy
        from smlens.backends import native
        assert set(out["backends"]) == ({"native", "numpy"} if native.available() else {"numpy"})
    _, blobs = call("output", {"key": "output_0"}, files)
    got = np.load(io.BytesIO(blobs["npy"]))
    np.testing.assert_allclose(got, r["serving_default/outputs/output_0"], rtol=1e-4, atol=1e-5)


def test_profile_rows_name_the_backend_of_each_step(wasm_registered):
    files = Files(CORPUS / "keras_cnn" / "model")
    open_files(files)
    x = ref("keras_cnn")["serving_default/inputs/image"]
    out, _ = call("run", {"signature": "serving_default", "backend": "wasm", "profile": True,
                          "inputs": {"image": {"mode": "npy", "buffer": 0, "filename": "x.npy"}}},
                  files, [npy_buffer(x)])
    prof = out["profile"]
    assert prof["total_ms"] > 0 and prof["steps"]
    by_op = {(row["op"], row["backend"]) for row in prof["steps"]}
    assert ("_FusedConv2D", "wasm") in by_op and ("MaxPool", "wasm") in by_op
    assert all(row["ms"] >= 0 for row in prof["steps"])


def test_unknown_backend_is_a_clear_error(wasm_registered):
    files = Files(CORPUS / "keras_cnn" / "model")
    open_files(files)
    out, _ = call("run", {"signature": "serving_default", "backend": "tpu",
                          "inputs": {"image": {"mode": "json", "text": '{"shape": [1, 32, 32, 3], "fill": 0.5}'}}},
                  files)
    assert out["error"]["kind"] == "InputError"
    assert "'tpu' is not available" in out["error"]["message"]
