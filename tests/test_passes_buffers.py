"""Per-step output buffers of the NumPy conv kernels: reused only once the previous result is dead."""
from __future__ import annotations

import numpy as np
import pytest

from smlens import dtypes
from smlens.kernels.nn_ops import depthwise_conv2d_native, fused_conv2d
from smlens.kernels.registry import Buffers

pytestmark = pytest.mark.pyodide
KW = dict(strides=[1, 1, 1, 1], padding="SAME", explicit_paddings=[], data_format="NHWC", dilations=[1, 1, 1, 1],
          T=dtypes.float32, num_args=1, fused_ops=["BiasAdd", "Relu6"], epsilon=1e-4, leakyrelu_alpha=0.2)


def _conv(x, w, b, bufs):
    return fused_conv2d(x, w, [b], [], buffers=bufs, **KW)


def test_live_result_is_not_overwritten_and_dead_one_is_reused():
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((3, 3, 4, 5)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    x1, x2 = (rng.standard_normal((1, 6, 6, 4)).astype(np.float32) for _ in range(2))
    bufs = Buffers()
    y1 = _conv(x1, w, b, bufs)
    keep = y1.copy()
    y2 = _conv(x2, w, b, bufs)                       # y1 still referenced: a new buffer
    np.testing.assert_array_equal(y1, keep)
    assert not np.shares_memory(y1, y2)
    np.testing.assert_allclose(y2, _conv(x2, w, b, None), rtol=1e-6)
    address = y2.__array_interface__["data"][0]
    del y2
    y3 = _conv(x1, w, b, bufs)                       # y2 dead: its buffer is reused
    assert y3.__array_interface__["data"][0] == address
    np.testing.assert_allclose(y3, keep, rtol=1e-6)


def test_view_of_result_keeps_buffer_alive():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 3, 3, 1)).astype(np.float32)
    x1, x2 = (rng.standard_normal((1, 5, 5, 3)).astype(np.float32) for _ in range(2))
    bufs = Buffers()
    kw = {k: v for k, v in KW.items() if k not in ("num_args", "fused_ops", "epsilon", "leakyrelu_alpha")}
    view = depthwise_conv2d_native(x1, w, buffers=bufs, **kw)[0, 1:3]
    keep = view.copy()
    depthwise_conv2d_native(x2, w, buffers=bufs, **kw)
    np.testing.assert_array_equal(view, keep)
