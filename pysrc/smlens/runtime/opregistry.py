"""The op registry: op type -> NumPy kernel, with each op's inputs and attributes declared as data.

It lives in the runtime layer (the kernels are a layer above: they fill it when `smlens.kernels` is
imported, which the package root does); kernel modules import it as `kernels/registry.py`.

A kernel module declares ops with the `op` decorator:

    @op("Conv2D", inputs=["input", "filter"],
        attrs={"strides": REQUIRED, "padding": REQUIRED, "explicit_paddings": [],
               "data_format": "NHWC", "dilations": [1, 1, 1, 1]})
    def conv2d(input, filter, *, strides, padding, explicit_paddings, data_format, dilations):
        ...

Inputs are bound positionally. An input named "*name" is a list input: "*name:N" takes as many
tensors as the int attr N says (or as long as the list attr says); a bare "*name" takes all
remaining inputs. Attributes are decoded (see `decode_attr`) and passed by keyword; a missing attr
takes the declared default (models saved with strip_default_attrs omit defaults); REQUIRED means the
node must carry it. Kernels whose declaration says ctx=True get an `OpContext` first.
`prepare` binds a kernel's attrs (and OpContext) and wraps list inputs, so it can be called with a
step's flat input values. A kernel returns one ndarray, or a tuple/list of ndarrays for several (or list) outputs, with exactly
the dtype TensorFlow would give.
"""
from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

import numpy as np

from .. import dtypes, tensors


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class FuncAttr:
    """A decoded `func` attr: function name and its (decoded) attrs."""
    name: str
    attrs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OpSpec:
    op_type: str
    fn: Callable
    inputs: tuple[str, ...]
    attrs: dict[str, Any]
    category: str
    needs_ctx: bool
    stateful: bool

    def split_inputs(self, values: list, attrs: dict) -> list:
        """Group flat input values into the kernel's positional arguments (list inputs as lists)."""
        args: list = []
        pos = 0
        fixed_after = 0
        for i, name in enumerate(self.inputs):
            if not name.startswith("*"):
                continue
            if ":" not in name:
                fixed_after = sum(1 for n in self.inputs[i + 1:] if not n.startswith("*"))
        for name in self.inputs:
            if name.startswith("*"):
                if ":" in name:
                    count_attr = name.split(":", 1)[1]
                    n = attrs.get(count_attr)
                    count = len(n) if isinstance(n, (list, tuple)) else int(n)
                else:
                    count = len(values) - pos - fixed_after
                args.append(list(values[pos:pos + count]))
                pos += count
            else:
                args.append(values[pos] if pos < len(values) else None)
                pos += 1
        return args


@dataclass
class OpContext:
    """What a ctx=True kernel sees. The executor sets `runtime` (resources, functions, frames)."""
    node_name: str
    op_type: str
    attrs: dict
    runtime: Any = None
    rng: np.random.Generator | None = None
    state: dict = field(default_factory=dict)  # the kernel's own state kept across runs (random generators)


class Buffers:
    """Scratch and output arrays a prepared kernel keeps between calls (the NumPy backend gives one to
    each conv step): a buffer is handed out again only when nothing but this object references it any
    more (its previous result is dead), so a result that is still in use is never overwritten. Saves the
    page faults of allocating the large activations of every layer anew at every run."""
    __slots__ = ("_bufs", "memo")

    def __init__(self):
        self._bufs: dict = {}
        self.memo: dict = {}  # what the kernel derived from attrs and input shapes (conv geometry)

    def get(self, key: str, shape: tuple, dtype, zero: bool = False) -> np.ndarray:
        bufs = self._bufs
        if key in bufs and _refs(bufs, key) <= _DEAD_REFS:  # counted before this frame holds it
            b = bufs[key]
            if b.shape == shape and b.dtype == dtype:
                return b
        b = bufs[key] = np.zeros(shape, dtype) if zero else np.empty(shape, dtype)
        return b


def _refs(bufs: dict, key: str) -> int:
    """References to bufs[key]: its dict entry and this frame's, plus any result (or view) still using it."""
    b = bufs[key]
    return sys.getrefcount(b)


# what _refs counts for a buffer nothing else uses, measured the same way (so an interpreter that counts
# frame references differently is calibrated for)
_DEAD_REFS = _refs({"k": np.empty(0)}, "k")


def takes_buffers(fn: Callable) -> bool:
    """Whether a kernel accepts `buffers=` (a `Buffers` its caller keeps per step)."""
    try:
        return "buffers" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


KERNELS: dict[str, OpSpec] = {}


def op(*op_types: str, inputs: list[str], attrs: dict | None = None, ctx: bool = False,
       stateful: bool = False) -> Callable:
    def register(fn: Callable) -> Callable:
        module = inspect.getmodule(fn)
        category = module.__name__.rsplit(".", 1)[-1].removesuffix("_ops") if module else "misc"
        for t in op_types:
            if t in KERNELS:
                raise ValueError(f"kernel for {t} registered twice ({KERNELS[t].fn.__module__}, {fn.__module__})")
            KERNELS[t] = OpSpec(t, fn, tuple(inputs), dict(attrs or {}), category, ctx, stateful)
        return fn
    return register


def alias(new_type: str, existing: str) -> None:
    """Register `new_type` with the kernel and declarations of `existing` (same semantics, other name)."""
    spec = KERNELS[existing]
    if new_type in KERNELS:
        raise ValueError(f"kernel for {new_type} registered twice")
    KERNELS[new_type] = OpSpec(new_type, spec.fn, spec.inputs, dict(spec.attrs), spec.category, spec.needs_ctx,
                               spec.stateful)


def decode_attr(value) -> Any:
    """AttrValue proto -> Python: str, int, float, bool, DType, shape tuple (None = unknown rank,
    -1 = unknown dim), ndarray, FuncAttr, or a list of these."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "s":
        return value.s.decode("utf-8", "surrogateescape")
    if kind in ("i", "f", "b"):
        return getattr(value, kind)
    if kind == "type":
        return dtypes.from_enum(value.type)
    if kind == "shape":
        return tensors.shape_from_proto(value.shape)
    if kind == "tensor":
        return tensors.to_numpy(value.tensor)
    if kind == "func":
        return FuncAttr(value.func.name, {k: decode_attr(v) for k, v in value.func.attr.items()})
    if kind == "placeholder":
        raise ValueError(f"unsubstituted attr placeholder {value.placeholder!r}")
    lst = value.list
    if lst.s:
        return [x.decode("utf-8", "surrogateescape") for x in lst.s]
    if lst.i:
        return list(lst.i)
    if lst.f:
        return list(lst.f)
    if lst.b:
        return list(lst.b)
    if lst.type:
        return [dtypes.from_enum(t) for t in lst.type]
    if lst.shape:
        return [tensors.shape_from_proto(s) for s in lst.shape]
    if lst.tensor:
        return [tensors.to_numpy(t) for t in lst.tensor]
    if lst.func:
        return [FuncAttr(f.name, {k: decode_attr(v) for k, v in f.attr.items()}) for f in lst.func]
    return []


def bind_attrs(spec: OpSpec, node_attrs: dict) -> dict:
    """Declared attrs with defaults filled in; raises KeyError naming a missing required attr."""
    out = {}
    for name, default in spec.attrs.items():
        if name in node_attrs:
            out[name] = node_attrs[name]
        elif default is REQUIRED:
            raise KeyError(name)
        else:
            out[name] = default
    return out


def prepare(opspec: OpSpec, bound: dict, n_inputs: int, ctx: Any = None) -> Callable:
    """The kernel with its attrs (and OpContext) bound, called with the flat input values."""
    fn = opspec.fn
    if ctx is not None:
        fn = partial(fn, ctx, **bound) if bound else partial(fn, ctx)
    elif bound:
        fn = partial(fn, **bound)
    if any(i.startswith("*") for i in opspec.inputs):
        fn = grouping(fn, opspec, n_inputs, bound)
    return fn


def grouping(fn: Callable, opspec: OpSpec, n: int, attrs: dict) -> Callable:
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
