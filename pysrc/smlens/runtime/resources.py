"""Stateful resources of a loaded MetaGraph: variables (resource and TF1 ref variables) and the resource
manager that shares them by (kind, container, shared_name) like TensorFlow's ResourceMgr.

Values are never modified in place: an assignment stores a new array, so arrays handed out by a read stay
valid (and checkpoint arrays, cached by the model, stay pristine).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import dtypes
from ..errors import ExecutionError


class Variable:
    """One variable. Its initial value comes lazily from the checkpoint (`key`) on first read."""

    __slots__ = ("name", "dtype", "shape", "key", "_value", "_load", "version")

    def __init__(self, name: str, dtype: dtypes.DType | None, shape, key: str | None,
                 load: Callable[[str], np.ndarray] | None):
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.key = key
        self._value: np.ndarray | None = None
        self._load = load
        self.version = 0  # counts assignments: plans that folded a read check it (see passes/fold_variables)

    @property
    def initialized(self) -> bool:
        return self._value is not None or (self.key is not None and self._load is not None)

    @property
    def loaded(self) -> bool:
        """Whether the value is in memory (else the first read loads it from the checkpoint)."""
        return self._value is not None

    def read(self) -> np.ndarray:
        v = self._value
        if v is None:
            if self.key is None or self._load is None:
                raise ExecutionError(f"variable {self.name!r} has no value: it is not in the checkpoint "
                                     "and nothing assigned it")
            v = self._load(self.key)
            if self.dtype is not None and self.dtype.name not in ("bfloat16", "string", "resource", "variant") \
                    and v.dtype != self.dtype.np:
                raise ExecutionError(f"variable {self.name!r}: checkpoint tensor {self.key!r} is {v.dtype}, "
                                     f"the graph declares {self.dtype.name}")
            self._value = v
        return v

    def assign(self, value: np.ndarray) -> None:
        value = np.asarray(value)
        if self.dtype is not None and self.dtype.name not in ("string", "resource", "variant") \
                and value.dtype != self.dtype.np:
            value = value.astype(self.dtype.np)
        self._value = value
        self.version += 1

    def destroy(self) -> None:
        self._value = None
        self.key = None
        self.version += 1

    def __repr__(self) -> str:
        return f"Variable({self.name!r})"


class ResourceManager:
    """Resources by (kind, container, name); `create` makes one on first use."""

    def __init__(self):
        self._items: dict[tuple[str, str, str], Any] = {}

    def get_or_create(self, kind: str, container: str, name: str, create: Callable[[], Any]) -> Any:
        key = (kind, container, name)
        r = self._items.get(key)
        if r is None:
            r = self._items[key] = create()
        return r

    def delete(self, obj: Any) -> None:
        for k, v in list(self._items.items()):
            if v is obj:
                del self._items[k]

    def items(self):
        return self._items.items()


def handle(obj: Any) -> np.ndarray:
    """A resource handle tensor: a 0-d object array holding the resource."""
    a = np.empty((), dtype=object)
    a[()] = obj
    return a


def resource_of(h: Any, kind: type, what: str) -> Any:
    """The resource object held by a handle tensor, checked to be a `kind`."""
    obj = h[()] if isinstance(h, np.ndarray) and h.dtype == object and h.ndim == 0 else h
    if not isinstance(obj, kind):
        raise ExecutionError(f"{what}: expected a {kind.__name__} handle, got {type(obj).__name__}")
    return obj
