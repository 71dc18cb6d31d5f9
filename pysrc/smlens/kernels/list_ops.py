"""TensorList* (variant lists, immutable: every op returns a new list) and TensorArray*V3 (a mutable
resource; the `flow` tensor only orders the ops) kernels.

A list or array is held by a 0-d object array. Unset elements (TensorListReserve, unwritten TensorArray
entries) read as zeros when the element shape is fully known, and are an error otherwise, like TensorFlow.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import ExecutionError
from ..runtime.resources import handle, resource_of
from .registry import REQUIRED, op

MAX_ELEMENTS = 1 << 26


# --------------------------------------------------------------------------- shapes

def _shape_arg(x, what: str) -> tuple | None:
    """An element_shape tensor: None = unknown rank, -1 = unknown dim."""
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise ExecutionError(f"{what}: element_shape must be an integer tensor, got {a.dtype}")
    if a.ndim == 0:
        if int(a) != -1:
            raise ExecutionError(f"{what}: a scalar element_shape must be -1 (unknown), got {int(a)}")
        return None
    return tuple(int(d) for d in a.reshape(-1))


def _merge_shapes(a: tuple | None, b: tuple | None, what: str) -> tuple | None:
    if a is None:
        return b
    if b is None:
        return a
    if len(a) != len(b):
        raise ExecutionError(f"{what}: incompatible element shapes {list(a)} and {list(b)}")
    out = []
    for x, y in zip(a, b):
        if x >= 0 and y >= 0 and x != y:
            raise ExecutionError(f"{what}: incompatible element shapes {list(a)} and {list(b)}")
        out.append(x if x >= 0 else y)
    return tuple(out)


def _compatible(declared: tuple | None, actual: tuple, what: str) -> tuple | None:
    """The declared element shape (it becomes the list's), checked against the elements' actual shape."""
    _merge_shapes(declared, actual, what)
    return declared


def _check_element(t: np.ndarray, shape: tuple | None, dt: dtypes.DType | None, what: str) -> None:
    if dt is not None and dt.name not in ("bfloat16", "variant", "resource") and t.dtype != dt.np:
        raise ExecutionError(f"{what}: element dtype {t.dtype} does not match the list's {dt.name}")
    if shape is not None and (t.ndim != len(shape) or any(d >= 0 and d != s for d, s in zip(shape, t.shape))):
        raise ExecutionError(f"{what}: element of shape {list(t.shape)} does not fit element shape {list(shape)}")


def _zeros(shape: tuple | None, dt: dtypes.DType, what: str) -> np.ndarray:
    if shape is None or any(d < 0 for d in shape):
        raise ExecutionError(f"{what}: element is not set and the element shape {shape} is not fully defined")
    if dt.name == "string":
        out = np.empty(shape, dtype=object)
        out[...] = b""
        return out
    return np.zeros(shape, dtype=dt.np)


def _rows(t: np.ndarray) -> list[np.ndarray]:
    """The elements along the first axis, each an ndarray (a 0-d array for a vector: indexing an object array
    with a bare integer would give a Python `bytes` that string kernels reject as not being a tensor)."""
    return [t[i, ...] for i in range(t.shape[0])]


def _element(x) -> np.ndarray:
    """A value written into a list/array as a tensor: Python `bytes`/`str` become 0-d object arrays (np.asarray
    would make a fixed-width `S` array, not TensorFlow's string tensor)."""
    if isinstance(x, (bytes, str)):
        out = np.empty((), dtype=object)
        out[()] = x.encode("utf-8") if isinstance(x, str) else x
        return out
    return np.asarray(x)


def _count(n, what: str) -> int:
    n = int(np.asarray(n).reshape(-1)[0]) if np.size(n) == 1 else -2
    if n < -1 or n > MAX_ELEMENTS:
        raise ExecutionError(f"{what}: invalid number of elements {n}")
    return n


def _index(i, size: int, what: str) -> int:
    i = int(np.asarray(i).reshape(()))
    if not 0 <= i < size:
        raise ExecutionError(f"{what}: index {i} out of range [0, {size})")
    return i


def _stack(items: list, shape: tuple | None, dt: dtypes.DType, what: str) -> np.ndarray:
    if not items:
        if shape is None or any(d < 0 for d in shape):
            raise ExecutionError(f"{what}: cannot stack an empty list whose element shape is not fully defined")
        return np.empty((0,) + shape, dtype=object if dt.name == "string" else dt.np)
    known = next((x for x in items if x is not None), None)
    full = shape if known is None else known.shape
    vals = [x if x is not None else _zeros(full if shape is None else _merge_shapes(shape, full, what), dt, what)
            for x in items]
    first = vals[0].shape
    if any(v.shape != first for v in vals):
        raise ExecutionError(f"{what}: elements have different shapes, cannot stack them")
    return np.stack(vals)


# --------------------------------------------------------------------------- TensorList

class TensorList:
    __slots__ = ("items", "dtype", "shape", "max_elements")

    def __init__(self, items: list, dtype: dtypes.DType, shape: tuple | None, max_elements: int = -1):
        self.items = items
        self.dtype = dtype
        self.shape = shape
        self.max_elements = max_elements

    def copy(self, items: list | None = None) -> "TensorList":
        return TensorList(list(self.items) if items is None else items, self.dtype, self.shape, self.max_elements)

    def __repr__(self) -> str:
        return f"TensorList({len(self.items)} x {self.dtype.name}{list(self.shape) if self.shape else ''})"


def _list(h, what: str) -> TensorList:
    return resource_of(h, TensorList, what)


@op("EmptyTensorList", inputs=["element_shape", "max_num_elements"], attrs={"element_dtype": REQUIRED})
def empty_tensor_list(element_shape, max_num_elements, *, element_dtype):
    return handle(TensorList([], element_dtype, _shape_arg(element_shape, "EmptyTensorList"),
                             _count(max_num_elements, "EmptyTensorList")))


@op("TensorListReserve", inputs=["element_shape", "num_elements"], attrs={"element_dtype": REQUIRED})
def tensor_list_reserve(element_shape, num_elements, *, element_dtype):
    n = _count(num_elements, "TensorListReserve")
    return handle(TensorList([None] * max(n, 0), element_dtype, _shape_arg(element_shape, "TensorListReserve")))


@op("TensorListFromTensor", inputs=["tensor", "element_shape"], attrs={"element_dtype": None})
def tensor_list_from_tensor(tensor, element_shape, *, element_dtype):
    t = np.asarray(tensor)
    if t.ndim == 0:
        raise ExecutionError("TensorListFromTensor: the tensor must be at least a vector")
    shape = _compatible(_shape_arg(element_shape, "TensorListFromTensor"), t.shape[1:], "TensorListFromTensor")
    dt = element_dtype or dtypes.from_numpy(t.dtype)
    return handle(TensorList(_rows(t), dt, shape))


@op("TensorListStack", inputs=["input_handle", "element_shape"],
    attrs={"element_dtype": REQUIRED, "num_elements": -1})
def tensor_list_stack(input_handle, element_shape, *, element_dtype, num_elements):
    lst = _list(input_handle, "TensorListStack")
    if num_elements != -1 and num_elements != len(lst.items):
        raise ExecutionError(f"TensorListStack: expected {num_elements} elements, the list has {len(lst.items)}")
    shape = _merge_shapes(lst.shape, _shape_arg(element_shape, "TensorListStack"), "TensorListStack")
    return _stack(lst.items, shape, element_dtype, "TensorListStack")


@op("TensorListGetItem", inputs=["input_handle", "index", "element_shape"], attrs={"element_dtype": REQUIRED})
def tensor_list_get_item(input_handle, index, element_shape, *, element_dtype):
    lst = _list(input_handle, "TensorListGetItem")
    i = _index(index, len(lst.items), "TensorListGetItem")
    x = lst.items[i]
    if x is not None:
        return x
    shape = _merge_shapes(lst.shape, _shape_arg(element_shape, "TensorListGetItem"), "TensorListGetItem")
    return _zeros(shape, element_dtype, "TensorListGetItem")


@op("TensorListSetItem", inputs=["input_handle", "index", "item"],
    attrs={"element_dtype": None, "resize_if_index_out_of_bounds": False})
def tensor_list_set_item(input_handle, index, item, *, element_dtype, resize_if_index_out_of_bounds):
    lst = _list(input_handle, "TensorListSetItem")
    item = _element(item)
    _check_element(item, lst.shape, lst.dtype, "TensorListSetItem")
    i = int(np.asarray(index).reshape(()))
    items = list(lst.items)
    if resize_if_index_out_of_bounds and i >= len(items):
        if i >= MAX_ELEMENTS:
            raise ExecutionError(f"TensorListSetItem: index {i} too large")
        items.extend([None] * (i + 1 - len(items)))
    i = _index(i, len(items), "TensorListSetItem")
    items[i] = item
    return handle(lst.copy(items))


@op("TensorListPushBack", inputs=["input_handle", "tensor"], attrs={"element_dtype": None})
def tensor_list_push_back(input_handle, tensor, *, element_dtype):
    lst = _list(input_handle, "TensorListPushBack")
    t = _element(tensor)
    _check_element(t, lst.shape, lst.dtype, "TensorListPushBack")
    if lst.max_elements >= 0 and len(lst.items) >= lst.max_elements:
        raise ExecutionError(f"TensorListPushBack: list already has its maximum of {lst.max_elements} elements")
    return handle(lst.copy(list(lst.items) + [t]))


@op("TensorListPopBack", inputs=["input_handle", "element_shape"], attrs={"element_dtype": REQUIRED})
def tensor_list_pop_back(input_handle, element_shape, *, element_dtype):
    lst = _list(input_handle, "TensorListPopBack")
    if not lst.items:
        raise ExecutionError("TensorListPopBack: the list is empty")
    x = lst.items[-1]
    if x is None:
        shape = _merge_shapes(lst.shape, _shape_arg(element_shape, "TensorListPopBack"), "TensorListPopBack")
        x = _zeros(shape, element_dtype, "TensorListPopBack")
    return handle(lst.copy(list(lst.items[:-1]))), x


@op("TensorListLength", inputs=["input_handle"])
def tensor_list_length(input_handle):
    return np.array(len(_list(input_handle, "TensorListLength").items), dtype=np.int32)


@op("TensorListElementShape", inputs=["input_handle"], attrs={"shape_type": REQUIRED})
def tensor_list_element_shape(input_handle, *, shape_type):
    lst = _list(input_handle, "TensorListElementShape")
    if lst.shape is None:
        return np.array(-1, dtype=shape_type.np)
    return np.array(lst.shape, dtype=shape_type.np)


@op("TensorListResize", inputs=["input_handle", "size"])
def tensor_list_resize(input_handle, size):
    lst = _list(input_handle, "TensorListResize")
    n = _count(size, "TensorListResize")
    if n < 0:
        raise ExecutionError(f"TensorListResize: size must be non-negative, got {n}")
    items = list(lst.items[:n]) + [None] * max(0, n - len(lst.items))
    return handle(lst.copy(items))


@op("TensorListGather", inputs=["input_handle", "indices", "element_shape"], attrs={"element_dtype": REQUIRED})
def tensor_list_gather(input_handle, indices, element_shape, *, element_dtype):
    lst = _list(input_handle, "TensorListGather")
    idx = np.asarray(indices).reshape(-1)
    items = [lst.items[_index(i, len(lst.items), "TensorListGather")] for i in idx]
    shape = _merge_shapes(lst.shape, _shape_arg(element_shape, "TensorListGather"), "TensorListGather")
    return _stack(items, shape, element_dtype, "TensorListGather")


def _scatter_items(items: list, tensor, indices, what: str, grow: bool = True) -> list:
    t = np.asarray(tensor)
    idx = np.asarray(indices).reshape(-1)
    if t.ndim == 0 or t.shape[0] != idx.size:
        raise ExecutionError(f"{what}: {idx.size} indices for a tensor of shape {list(t.shape)}")
    if idx.size and (idx.min() < 0 or idx.max() >= MAX_ELEMENTS):
        raise ExecutionError(f"{what}: index out of range")
    need = int(idx.max()) + 1 if idx.size else 0
    if need > len(items):
        if not grow:
            raise ExecutionError(f"{what}: trying to scatter at index {need - 1} in list with size {len(items)}")
        items = items + [None] * (need - len(items))
    for k, i in enumerate(idx):
        items[int(i)] = t[k, ...]
    return items


@op("TensorListScatter", inputs=["tensor", "indices", "element_shape"], attrs={"element_dtype": None})
def tensor_list_scatter(tensor, indices, element_shape, *, element_dtype):
    t = np.asarray(tensor)
    dt = element_dtype or dtypes.from_numpy(t.dtype)
    shape = _compatible(_shape_arg(element_shape, "TensorListScatter"), t.shape[1:] if t.ndim else None,
                        "TensorListScatter")
    return handle(TensorList(_scatter_items([], t, indices, "TensorListScatter"), dt, shape))


@op("TensorListScatterV2", inputs=["tensor", "indices", "element_shape", "num_elements"],
    attrs={"element_dtype": None})
def tensor_list_scatter_v2(tensor, indices, element_shape, num_elements, *, element_dtype):
    t = np.asarray(tensor)
    dt = element_dtype or dtypes.from_numpy(t.dtype)
    shape = _compatible(_shape_arg(element_shape, "TensorListScatterV2"), t.shape[1:] if t.ndim else None,
                        "TensorListScatterV2")
    n = _count(num_elements, "TensorListScatterV2")
    return handle(TensorList(_scatter_items([None] * max(n, 0), t, indices, "TensorListScatterV2", grow=n < 0),
                             dt, shape))


@op("TensorListScatterIntoExistingList", inputs=["input_handle", "tensor", "indices"],
    attrs={"element_dtype": None})
def tensor_list_scatter_into_existing_list(input_handle, tensor, indices, *, element_dtype):
    lst = _list(input_handle, "TensorListScatterIntoExistingList")
    return handle(lst.copy(_scatter_items(list(lst.items), tensor, indices, "TensorListScatterIntoExistingList",
                                          grow=False)))


@op("TensorListSplit", inputs=["tensor", "element_shape", "lengths"], attrs={"element_dtype": None})
def tensor_list_split(tensor, element_shape, lengths, *, element_dtype):
    t = np.asarray(tensor)
    if t.ndim == 0:
        raise ExecutionError("TensorListSplit: the tensor must be at least a vector")
    lens = [int(x) for x in np.asarray(lengths).reshape(-1)]
    if any(x < 0 for x in lens) or sum(lens) != t.shape[0]:
        raise ExecutionError(f"TensorListSplit: lengths {lens} do not add up to {t.shape[0]}")
    items, pos = [], 0
    for n in lens:
        items.append(t[pos:pos + n])
        pos += n
    shape = _compatible(_shape_arg(element_shape, "TensorListSplit"), (-1,) + t.shape[1:], "TensorListSplit")
    return handle(TensorList(items, element_dtype or dtypes.from_numpy(t.dtype), shape))


def _concat(lst: TensorList, shape: tuple | None, dt: dtypes.DType, leading: list[int] | None, what: str):
    if not lst.items:
        if shape is None or any(d < 0 for d in shape[1:]):
            raise ExecutionError(f"{what}: cannot concatenate an empty list whose element shape is not known")
        return np.empty((0,) + tuple(shape[1:]), dtype=object if dt.name == "string" else dt.np), \
            np.zeros(0, dtype=np.int64)
    parts = []
    for k, x in enumerate(lst.items):
        if x is None:
            lead = leading[k] if leading and k < len(leading) else (shape[0] if shape else -1)
            x = _zeros(None if shape is None else (lead,) + tuple(shape[1:]), dt, what)
        if x.ndim == 0:
            raise ExecutionError(f"{what}: elements must be at least vectors")
        parts.append(x)
    rest = parts[0].shape[1:]
    if any(p.shape[1:] != rest for p in parts):
        raise ExecutionError(f"{what}: elements differ in shape beyond their first dimension")
    return np.concatenate(parts), np.array([p.shape[0] for p in parts], dtype=np.int64)


@op("TensorListConcat", inputs=["input_handle"], attrs={"element_dtype": REQUIRED, "element_shape": None})
def tensor_list_concat(input_handle, *, element_dtype, element_shape):
    lst = _list(input_handle, "TensorListConcat")
    shape = _merge_shapes(lst.shape, element_shape, "TensorListConcat")
    return _concat(lst, shape, element_dtype, None, "TensorListConcat")


@op("TensorListConcatV2", inputs=["input_handle", "element_shape", "leading_dims"],
    attrs={"element_dtype": REQUIRED})
def tensor_list_concat_v2(input_handle, element_shape, leading_dims, *, element_dtype):
    lst = _list(input_handle, "TensorListConcatV2")
    shape = _merge_shapes(lst.shape, _shape_arg(element_shape, "TensorListConcatV2"), "TensorListConcatV2")
    leading = [int(x) for x in np.asarray(leading_dims).reshape(-1)]
    return _concat(lst, shape, element_dtype, leading, "TensorListConcatV2")


# --------------------------------------------------------------------------- TensorArray (V3)

class TensorArray:
    __slots__ = ("items", "read", "dtype", "shape", "dynamic", "clear_after_read", "closed")

    def __init__(self, size: int, dtype: dtypes.DType, shape: tuple | None, dynamic: bool, clear_after_read: bool):
        self.items: list = [None] * size
        self.read: list[bool] = [False] * size
        self.dtype = dtype
        self.shape = shape
        self.dynamic = dynamic
        self.clear_after_read = clear_after_read
        self.closed = False

    def write(self, i: int, value: np.ndarray, what: str) -> None:
        if self.closed:
            raise ExecutionError(f"{what}: the TensorArray is closed")
        if i < 0:
            raise ExecutionError(f"{what}: index {i} is negative")
        if i >= len(self.items):
            if not self.dynamic:
                raise ExecutionError(f"{what}: index {i} out of range for a TensorArray of size {len(self.items)}")
            if i >= MAX_ELEMENTS:
                raise ExecutionError(f"{what}: index {i} too large")
            grow = i + 1 - len(self.items)
            self.items.extend([None] * grow)
            self.read.extend([False] * grow)
        if self.items[i] is not None or self.read[i]:
            raise ExecutionError(f"{what}: could not write to TensorArray index {i} because it has already been "
                                 "written to")
        _check_element(value, self.shape, self.dtype, what)
        self.items[i] = value

    def get(self, i: int, what: str) -> np.ndarray:
        if self.closed:
            raise ExecutionError(f"{what}: the TensorArray is closed")
        i = _index(i, len(self.items), what)
        x = self.items[i]
        if x is None:
            if self.read[i]:
                raise ExecutionError(f"{what}: could not read index {i} twice because it was cleared after a "
                                     "previous read (clear_after_read)")
            x = _zeros(self.shape, self.dtype, what)
        if self.clear_after_read:
            self.items[i] = None
            self.read[i] = True
        return x


def _array_of(h, what: str) -> TensorArray:
    return resource_of(h, TensorArray, what)


def _flow() -> np.ndarray:
    return np.array(0.0, dtype=np.float32)


@op("TensorArrayV3", inputs=["size"],
    attrs={"dtype": REQUIRED, "element_shape": None, "dynamic_size": False, "clear_after_read": True,
           "identical_element_shapes": False, "tensor_array_name": ""}, stateful=True)
def tensor_array_v3(size, *, dtype, element_shape, dynamic_size, clear_after_read, identical_element_shapes,
                    tensor_array_name):
    n = _count(size, "TensorArrayV3")
    if n < 0:
        raise ExecutionError(f"TensorArrayV3: size must be non-negative, got {n}")
    return handle(TensorArray(n, dtype, element_shape, dynamic_size, clear_after_read)), _flow()


@op("TensorArrayWriteV3", inputs=["handle", "index", "value", "flow_in"], stateful=True)
def tensor_array_write_v3(handle_, index, value, flow_in):
    _array_of(handle_, "TensorArrayWriteV3").write(int(np.asarray(index).reshape(())), _element(value),
                                                   "TensorArrayWriteV3")
    return _flow()


@op("TensorArrayReadV3", inputs=["handle", "index", "flow_in"], attrs={"dtype": REQUIRED}, stateful=True)
def tensor_array_read_v3(handle_, index, flow_in, *, dtype):
    return _array_of(handle_, "TensorArrayReadV3").get(int(np.asarray(index).reshape(())), "TensorArrayReadV3")


@op("TensorArrayGatherV3", inputs=["handle", "indices", "flow_in"],
    attrs={"dtype": REQUIRED, "element_shape": None}, stateful=True)
def tensor_array_gather_v3(handle_, indices, flow_in, *, dtype, element_shape):
    ta = _array_of(handle_, "TensorArrayGatherV3")
    items = [ta.get(int(i), "TensorArrayGatherV3") for i in np.asarray(indices).reshape(-1)]
    shape = _merge_shapes(ta.shape, element_shape, "TensorArrayGatherV3")
    return _stack(items, shape, dtype, "TensorArrayGatherV3")


@op("TensorArrayScatterV3", inputs=["handle", "indices", "value", "flow_in"], stateful=True)
def tensor_array_scatter_v3(handle_, indices, value, flow_in):
    ta = _array_of(handle_, "TensorArrayScatterV3")
    v = np.asarray(value)
    idx = np.asarray(indices).reshape(-1)
    if v.ndim == 0 or v.shape[0] != idx.size:
        raise ExecutionError(f"TensorArrayScatterV3: {idx.size} indices for a value of shape {list(v.shape)}")
    for k, i in enumerate(idx):
        ta.write(int(i), v[k, ...], "TensorArrayScatterV3")
    return _flow()


@op("TensorArrayConcatV3", inputs=["handle", "flow_in"],
    attrs={"dtype": REQUIRED, "element_shape_except0": None}, stateful=True)
def tensor_array_concat_v3(handle_, flow_in, *, dtype, element_shape_except0):
    ta = _array_of(handle_, "TensorArrayConcatV3")
    items = [ta.get(i, "TensorArrayConcatV3") for i in range(len(ta.items))]
    shape = None if element_shape_except0 is None else (-1,) + tuple(element_shape_except0)
    return _concat(TensorList(items, dtype, shape), shape, dtype, None, "TensorArrayConcatV3")


@op("TensorArraySplitV3", inputs=["handle", "value", "lengths", "flow_in"], stateful=True)
def tensor_array_split_v3(handle_, value, lengths, flow_in):
    ta = _array_of(handle_, "TensorArraySplitV3")
    v = np.asarray(value)
    lens = [int(x) for x in np.asarray(lengths).reshape(-1)]
    if v.ndim == 0 or any(x < 0 for x in lens) or sum(lens) != v.shape[0]:
        raise ExecutionError(f"TensorArraySplitV3: lengths {lens} do not add up to the value's first dimension")
    pos = 0
    for i, n in enumerate(lens):
        ta.write(i, v[pos:pos + n], "TensorArraySplitV3")
        pos += n
    return _flow()


@op("TensorArraySizeV3", inputs=["handle", "flow_in"], stateful=True)
def tensor_array_size_v3(handle_, flow_in):
    return np.array(len(_array_of(handle_, "TensorArraySizeV3").items), dtype=np.int32)


@op("TensorArrayCloseV3", inputs=["handle"], stateful=True)
def tensor_array_close_v3(handle_):
    _array_of(handle_, "TensorArrayCloseV3").closed = True
    return ()
