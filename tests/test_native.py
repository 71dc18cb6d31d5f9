"""The native backend (backends/native.py, a ctypes C library built by build.py) and the NumPy backend's
prepared convolutions (backends/numpy_conv.py): both must reproduce TensorFlow's outputs on every corpus
case and Keras zoo model, as the reference kernels do. Kernel-level cases: tests/test_prepared_conv.py."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import smlens
import test_corpus_run as corpus
import test_zoo_keras as zoo
from smlens.backends import native, registry
from smlens.backends.numpy_backend import NUMPY
from smlens.runtime.options import options
from smlens.runtime.plan import compile_signature

ROOT = Path(__file__).resolve().parents[1]
needs_native = pytest.mark.skipif(not native.available(), reason="the native library is not built here "
                                  "(python build.py native)")
# kernels: the native backend; NumPy's prepared convolutions; NumPy's reference kernels only
SETTINGS = ["native", "numpy", "reference"]


def test_native_library_loads_where_build_py_built_it():
    if os.environ.get("SMLENS_EXPECT_NATIVE"):
        assert native.available(), f"build.py built {native.LIBRARY_DIR / native.library_name()} but it did not load"
    if native.available():
        assert registry.get("native") is native.BACKEND
        assert registry.preference()[:2] == ["native", "numpy"]


def test_without_the_library_runs_use_numpy(tmp_path):
    code = ("import smlens, numpy as np\n"
            "from smlens.backends import registry\n"
            "assert 'native' not in registry.available(), registry.available()\n"
            "assert registry.preference() == ['numpy'], registry.preference()\n"
            f"m = smlens.open({str(corpus.case_dir('keras_cnn') / 'model')!r})\n"
            "sig = m.meta_graph().signatures['serving_default']\n"
            "out = sig.plan().run({'image': np.zeros((1, 32, 32, 3), np.float32)})\n"
            "print(sorted(out))\n")
    env = dict(os.environ, SMLENS_NO_NATIVE="1", PYTHONPATH=str(ROOT / "pysrc"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _plan(sig, setting: str):
    return compile_signature(sig, options(backends=["native" if setting == "native" else "numpy"]))


def _run_setting(setting: str, fn):
    if setting == "native" and not native.available():
        pytest.skip("the native library is not built here (python build.py native)")
    saved = NUMPY.prepared_convolutions
    NUMPY.prepared_convolutions = setting != "reference"
    try:
        return fn()
    finally:
        NUMPY.prepared_convolutions = saved


def _conv_cases() -> list:
    """Corpus cases and zoo models with convolutions (the others run no kernel of these backends)."""
    cases = [pytest.param("corpus", c, s, id=f"{c}:{s}",
                          marks=pytest.mark.skipif(corpus.case_dir(c) is None, reason=f"{c}: no variable data here"))
             for c in ("keras_cnn", "mobilenet_v2") for s in SETTINGS]
    cases += [pytest.param("zoo", m, s, id=f"{m}:{s}") for m in zoo.MODELS
              if m in ("conv2d_resample", "se_resnet_block", "tfsave_keras_cnn",
                       "normalizations", "mixed_float16", "activations") for s in SETTINGS]
    return cases


@pytest.mark.parametrize("source,name,setting", _conv_cases())
def test_parity_with_tensorflow(source: str, name: str, setting: str):
    def check():
        if source == "corpus":
            runs = corpus.reference(name)[0]
            model = smlens.open(str(corpus.case_dir(name) / "model"))
            load = lambda info: corpus.tensor(name, info["key"], info)  # noqa: E731
        else:
            runs = zoo.reference(name)[0]
            model = zoo.opened(name)
            load = lambda info: zoo.tensor(name, info)  # noqa: E731
        backends_used: set = set()
        for run_key, run in runs.items():
            sig = model.meta_graph(tuple(run["tags"])).signatures[run["signature"]]
            plan = _plan(sig, setting)
            backends_used.update(i.backend for i in plan.program.infos) if hasattr(plan.program, "infos") else None
            out = plan.run({k: load(v) for k, v in run["inputs"].items()})
            for k, info in run["outputs"].items():
                with np.errstate(invalid="ignore"):
                    corpus.compare(f"{name}:{run_key}/{k}", out[k], load(info), info)
        return backends_used
    used = _run_setting(setting, check)
    if setting == "native" and name in ("keras_cnn", "mobilenet_v2"):
        assert "native" in used, used


@needs_native
def test_native_kernels_refuse_inconsistent_arguments():
    k = native.BACKEND.kernels
    x = np.zeros((1, 5, 5, 3), np.float32)
    w = np.zeros((3, 3, 3, 1), np.float32)
    out = np.zeros((1, 5, 5, 3), np.float32)
    with pytest.raises(ValueError):
        k.depthwise(x, w, (1, 1), (1, 1), np.zeros((1, 5, 5, 4), np.float32), None, None, None)
    with pytest.raises(ValueError):
        k.depthwise(x, np.zeros((3, 3, 4, 1), np.float32), (1, 1), (1, 1), out, None, None, None)
    with pytest.raises(ValueError):
        k.depthwise(x.astype(np.float64), w, (1, 1), (1, 1), out, None, None, None)
    with pytest.raises(ValueError):
        k.depthwise(x, w, (1, 1), (1, 1), out, np.zeros(4, np.float32), None, None)
    with pytest.raises(ValueError):
        k.epilogue(out[:, :, ::2], None, None, "Relu")   # not contiguous
    with pytest.raises(ValueError):
        k.epilogue(out, None, np.zeros((1, 5, 5, 2), np.float32), None)
    ro = np.zeros((2, 3), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError):
        k.epilogue(ro, None, None, None)
