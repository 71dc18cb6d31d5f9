"""The NumPy backend: the reference kernels of `kernels/` (the fallback every step can run on), and for
float32 NHWC convolutions with constant filters the prepared kernels of `numpy_conv.py`."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels import KERNELS
from ..kernels.registry import Buffers, prepare, takes_buffers
from .base import PreparedKernel, StepSpec
from .numpy_conv import prepare_conv


class NumpyBackend:
    name = "numpy"
    host = True
    prepared_convolutions = True  # False: every step on the reference kernels (tests compare the two)

    def kernel(self, spec: StepSpec) -> PreparedKernel | None:
        opspec = KERNELS.get(spec.op)
        if opspec is None or opspec.needs_ctx:
            return None
        prepared = prepare_conv(spec) if self.prepared_convolutions else None
        if prepared is not None:
            return prepared
        attrs = spec.attrs
        if _takes_buffers(opspec):  # per-step scratch/output arrays, reused once their result is dead
            attrs = {**attrs, "buffers": Buffers()}
        return PreparedKernel(prepare(opspec, attrs, len(spec.in_dtypes)))

    def upload(self, array: np.ndarray) -> Any:
        return array

    def download(self, tensor: Any) -> np.ndarray:
        return tensor

    def free(self, tensor: Any) -> None:
        return None


_TAKES_BUFFERS: dict = {}


def _takes_buffers(opspec) -> bool:
    r = _TAKES_BUFFERS.get(opspec.op_type)
    if r is None:
        r = _TAKES_BUFFERS[opspec.op_type] = takes_buffers(opspec.fn)
    return r


NUMPY = NumpyBackend()
