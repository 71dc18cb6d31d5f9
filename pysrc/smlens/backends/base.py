"""The narrow interface between the plan compiler and a backend (in the spirit of tinygrad's runtimes).

A backend is asked, once per step at plan time, for a kernel for a `StepSpec` (op type, decoded attrs
with defaults bound, input dtypes and static shapes, the inputs that are plan constants). It returns a
`PreparedKernel`, or None to decline (the step then runs on the next backend, NumPy last).

Fused steps use TensorFlow's own internal op vocabulary, so every backend implements the same thing the
NumPy reference kernels in `kernels/nn_ops.py` implement:
  `_FusedConv2D`, `_FusedDepthwiseConv2dNative`, `_FusedMatMul`
  inputs: x, filter/b, then `num_args` extra args in the order `fused_ops` consumes them
  fused_ops: a list applied in order to the conv/matmul result, from
    "BiasAdd" (1 arg: per-channel bias), "Add" (1 arg: residual, same shape as the result),
    "FusedBatchNorm" (4 args: scale, offset, mean, variance; with attr `epsilon`),
    "Relu", "Relu6", "Elu", "LeakyRelu" (attr `leakyrelu_alpha`), "Sigmoid", "Tanh",
    "GeluExact", "GeluApproximate".
  smlens extension: `_FusedDepthwiseConv2dNative` may also carry `padding: "EXPLICIT"` with
  `explicit_paddings` (as DepthwiseConv2dNative does): the fold_pad pass moves a zero Pad there.

Tensors: a host backend (`host = True`: numpy, wasm) reads and writes numpy arrays in place, so no
transfer is needed between host backends. A device backend (webgpu) holds `DeviceTensor`s; the placement
pass inserts explicit `upload`/`download` steps where the backend of a value changes, and `free` at a
value's last use. A `DeviceTensor` refuses to become a numpy array by accident.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

Shape = tuple  # static shape: a tuple of ints, -1 for an unknown dim; None where the rank is unknown


class DeviceTensor:
    """An opaque handle to a tensor held by a device backend."""
    __slots__ = ("backend", "handle", "shape", "dtype")

    def __init__(self, backend: "Backend", handle: Any, shape: tuple, dtype: np.dtype):
        self.backend = backend
        self.handle = handle
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    def __array__(self, *args, **kwargs):
        raise TypeError(f"a {self.backend.name} device tensor {self.shape} {self.dtype} must be downloaded "
                        "explicitly (backend.download), not converted to a numpy array")

    def __repr__(self) -> str:
        return f"DeviceTensor({self.backend.name}, shape={self.shape}, dtype={self.dtype})"


@dataclass(frozen=True)
class StepSpec:
    """What a backend is told about one step when asked for a kernel."""
    op: str
    attrs: dict                                   # decoded attrs, declared defaults filled in
    in_dtypes: tuple                              # np.dtype (or None where unknown) per flat input
    in_shapes: tuple                              # Shape (or None) per flat input
    consts: dict = field(default_factory=dict)    # input position -> np.ndarray for plan-constant inputs
    node: str = ""                                # node name, for error messages


@dataclass
class PreparedKernel:
    """A backend's kernel for one step.

    `fn` is called with the step's flat inputs, in order, except the positions in `captured` (constant
    inputs the backend took from `StepSpec.consts` at plan time, e.g. packed or uploaded weights). It
    returns one tensor or a tuple of tensors of the backend's kind (ndarray on host backends)."""
    fn: Callable[..., Any]
    captured: frozenset = frozenset()


class Backend(Protocol):
    name: str
    host: bool  # True: tensors are numpy arrays in host memory

    def kernel(self, spec: StepSpec) -> PreparedKernel | None: ...

    def upload(self, array: np.ndarray) -> Any: ...

    def download(self, tensor: Any) -> np.ndarray: ...

    def free(self, tensor: Any) -> None: ...
