"""The NumPy backend: the reference kernels of `kernels/` (the fallback every step can run on)."""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

import numpy as np

from ..kernels import KERNELS
from .base import PreparedKernel, StepSpec


class NumpyBackend:
    name = "numpy"
    host = True

    def kernel(self, spec: StepSpec) -> PreparedKernel | None:
        opspec = KERNELS.get(spec.op)
        if opspec is None or opspec.needs_ctx:
            return None
        return PreparedKernel(prepare(opspec, spec.attrs, len(spec.in_dtypes)))

    def upload(self, array: np.ndarray) -> Any:
        return array

    def download(self, tensor: Any) -> np.ndarray:
        return tensor

    def free(self, tensor: Any) -> None:
        return None


def prepare(opspec, bound: dict, n_inputs: int, ctx: Any = None) -> Callable:
    """The kernel with its attrs (and OpContext) bound, called with the flat input values."""
    fn = opspec.fn
    if ctx is not None:
        fn = partial(fn, ctx, **bound) if bound else partial(fn, ctx)
    elif bound:
        fn = partial(fn, **bound)
    if any(i.startswith("*") for i in opspec.inputs):
        fn = grouping(fn, opspec, n_inputs, bound)
    return fn


def grouping(fn: Callable, opspec, n: int, attrs: dict) -> Callable:
    """Wrap a kernel with list inputs so it can be called with the flat input values. Raises ValueError
    when the attrs and the input count disagree."""
    pattern = opspec.split_inputs(list(range(n)), attrs)
    used = [i for p in pattern if p is not None for i in (p if isinstance(p, list) else [p])]
    if used != list(range(n)) and len(used) > n:
        raise ValueError(f"it has {n} inputs, its attrs say {len(used)}")
    plan = tuple(pattern)

    def call(*args):
        return fn(*[[args[j] for j in p] if p.__class__ is list else (None if p is None else args[p])
                    for p in plan])
    return call


NUMPY = NumpyBackend()
