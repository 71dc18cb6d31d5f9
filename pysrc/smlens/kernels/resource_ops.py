"""Variable kernels: resource variables (VarHandleOp + ReadVariableOp/AssignVariableOp/...) and TF1 ref
variables (VariableV2 + Assign/...).

Variables live in the runtime's ResourceManager (runtime/resources.py) and take their first value from the
checkpoint lazily. A resource handle is a 0-d object array holding the Variable; a TF1 ref is the Variable
itself (the compiler dereferences it for every input that does not take a ref). Updates store new arrays:
nothing is modified in place.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import ExecutionError
from ..runtime.resources import Variable, handle, resource_of
from .gather_ops import take
from .registry import KERNELS, REQUIRED, op


def _variable(ctx, kind: str, container: str, shared_name: str, dtype, shape) -> Variable:
    rt = ctx.runtime
    name = shared_name or ctx.node_name

    def create() -> Variable:
        return Variable(name, dtype, shape, rt.variable_key(ctx.node_name, shared_name), rt.load_variable)
    return rt.resources.get_or_create(kind, container, name, create)


def _var(h, what: str) -> Variable:
    return resource_of(h, Variable, what)


def _check_assign(var: Variable, value: np.ndarray, validate_shape: bool, what: str) -> None:
    if var.dtype is not None and var.dtype.name not in ("string", "resource", "variant", "bfloat16") \
            and value.dtype != var.dtype.np:
        raise ExecutionError(f"{what}: cannot assign a {value.dtype} value to {var.dtype.name} variable "
                             f"{var.name!r}")
    if validate_shape and var.shape is not None and (
            len(var.shape) != value.ndim or any(d >= 0 and d != s for d, s in zip(var.shape, value.shape))):
        raise ExecutionError(f"{what}: shape {list(value.shape)} does not match variable {var.name!r} of shape "
                             f"{list(var.shape)}")


# --------------------------------------------------------------------------- resource variables

@op("VarHandleOp", inputs=[], attrs={"container": "", "shared_name": "", "dtype": REQUIRED, "shape": REQUIRED},
    ctx=True, stateful=True)
def var_handle_op(ctx, *, container, shared_name, dtype, shape):
    return handle(_variable(ctx, "var", container, shared_name, dtype, shape))


@op("ReadVariableOp", inputs=["resource"], attrs={"dtype": REQUIRED}, stateful=True)
def read_variable_op(resource, *, dtype):
    return _var(resource, "ReadVariableOp").read()


@op("AssignVariableOp", inputs=["resource", "value"], attrs={"validate_shape": False}, stateful=True)
def assign_variable_op(resource, value, *, validate_shape):
    var = _var(resource, "AssignVariableOp")
    value = np.asarray(value)
    _check_assign(var, value, validate_shape, "AssignVariableOp")
    var.assign(value)
    return ()


def _sum(var: Variable, old: np.ndarray, delta, sign: int) -> np.ndarray:
    """old + delta or old - delta in the variable's dtype (bfloat16 rounded, integers wrapping)."""
    with np.errstate(over="ignore"):
        r = np.asarray(old + delta if sign > 0 else old - delta, dtype=old.dtype)
    return dtypes.round_to_bfloat16(r) if var.dtype is not None and var.dtype.name == "bfloat16" else r


def _update(resource, delta, sign: int, what: str):
    var = _var(resource, what)
    old = var.read()
    delta = np.asarray(delta)
    if delta.shape != old.shape:
        raise ExecutionError(f"{what}: value shape {list(delta.shape)} does not match variable {var.name!r} "
                             f"of shape {list(old.shape)}")
    var.assign(_sum(var, old, delta, sign))
    return var


@op("AssignAddVariableOp", inputs=["resource", "value"], stateful=True)
def assign_add_variable_op(resource, value):
    _update(resource, value, 1, "AssignAddVariableOp")
    return ()


@op("AssignSubVariableOp", inputs=["resource", "value"], stateful=True)
def assign_sub_variable_op(resource, value):
    _update(resource, value, -1, "AssignSubVariableOp")
    return ()


@op("ResourceGather", inputs=["resource", "indices"], attrs={"batch_dims": 0, "dtype": REQUIRED}, stateful=True)
def resource_gather(resource, indices, *, batch_dims, dtype):
    return take(_var(resource, "ResourceGather").read(), indices, 0, batch_dims)


@op("ResourceGatherNd", inputs=["resource", "indices"], attrs={"dtype": REQUIRED}, stateful=True)
def resource_gather_nd(resource, indices, *, dtype):
    return KERNELS["GatherNd"].fn(_var(resource, "ResourceGatherNd").read(), indices, bad_indices_policy="")


@op("VariableShape", inputs=["input"], attrs={"out_type": dtypes.int32}, stateful=True)
def variable_shape(input, *, out_type):
    return np.array(_var(input, "VariableShape").read().shape, dtype=out_type.np)


@op("VarIsInitializedOp", inputs=["resource"], stateful=True)
def var_is_initialized_op(resource):
    return np.array(_var(resource, "VarIsInitializedOp").initialized)


@op("DestroyResourceOp", inputs=["resource"], attrs={"ignore_lookup_error": True}, ctx=True, stateful=True)
def destroy_resource_op(ctx, resource, *, ignore_lookup_error):
    obj = resource[()] if isinstance(resource, np.ndarray) and resource.dtype == object else resource
    if isinstance(obj, Variable):
        obj.destroy()
    ctx.runtime.resources.delete(obj)
    return ()


@op("DisableCopyOnRead", inputs=["resource"], stateful=True)
def disable_copy_on_read(resource):
    return ()


# --------------------------------------------------------------------------- scatter updates (dim 0)

def _scatter0(value: np.ndarray, indices, updates, mode: str, what: str) -> np.ndarray:
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise ExecutionError(f"{what}: indices must be integers, got {idx.dtype}")
    idx = idx.astype(np.int64).reshape(-1)
    if value.ndim == 0:
        raise ExecutionError(f"{what}: the variable must be at least 1-D")
    n = value.shape[0]
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        raise ExecutionError(f"{what}: index {int(idx[np.argmax(bad)])} is not in [0, {n})")
    want = np.asarray(indices).shape + value.shape[1:]
    upd = np.asarray(updates)
    if upd.shape != want:
        if upd.ndim != 0:
            raise ExecutionError(f"{what}: updates shape {list(upd.shape)} must be {list(want)} or a scalar")
        upd = np.broadcast_to(upd, want)
    upd = upd.reshape((idx.size,) + value.shape[1:]).astype(value.dtype, copy=False)
    out = np.array(value, copy=True)
    if mode == "update":
        out[idx] = upd
    elif mode == "div" and value.dtype.kind in "iu":
        for i, u in zip(idx, upd):
            if np.any(u == 0):
                raise ExecutionError(f"{what}: integer division by zero")
            q = np.abs(out[i]) // np.abs(u)
            out[i] = np.where((out[i] < 0) != (u < 0), -q, q)
    else:
        {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "min": np.minimum,
         "max": np.maximum}[mode].at(out, idx, upd)
    return out


_SCATTER_MODES = {"Update": "update", "Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Min": "min",
                  "Max": "max"}


def _register_resource_scatter(suffix: str, mode: str) -> None:
    name = f"ResourceScatter{suffix}"

    @op(name, inputs=["resource", "indices", "updates"], stateful=True)
    def resource_scatter(resource, indices, updates):
        var = _var(resource, name)
        var.assign(_scatter0(var.read(), indices, updates, mode, name))
        return ()


def _register_ref_scatter(suffix: str, mode: str) -> None:
    name = f"Scatter{suffix}"

    @op(name, inputs=["ref", "indices", "updates"], attrs={"use_locking": mode == "update"}, stateful=True)
    def ref_scatter(ref, indices, updates, *, use_locking):
        ref.assign(_scatter0(ref.read(), indices, updates, mode, name))
        return ref


for _suffix, _mode in _SCATTER_MODES.items():
    _register_resource_scatter(_suffix, _mode)
    _register_ref_scatter(_suffix, _mode)


def _scatter_nd(value: np.ndarray, indices, updates, kind: str) -> np.ndarray:
    return KERNELS[f"TensorScatter{kind}"].fn(value, indices, np.asarray(updates, dtype=value.dtype),
                                                T=dtypes.from_numpy(value.dtype), bad_indices_policy="")


def _register_nd(kind: str) -> None:
    rname, name = f"ResourceScatterNd{kind}", f"ScatterNd{kind}"

    @op(rname, inputs=["ref", "indices", "updates"], attrs={"use_locking": True}, stateful=True)
    def resource_scatter_nd(ref, indices, updates, *, use_locking):
        var = _var(ref, rname)
        var.assign(_scatter_nd(var.read(), indices, updates, kind))
        return ()

    @op(name, inputs=["ref", "indices", "updates"], attrs={"use_locking": kind == "Update"}, stateful=True)
    def ref_scatter_nd(ref, indices, updates, *, use_locking):
        ref.assign(_scatter_nd(ref.read(), indices, updates, kind))
        return ref


for _kind in ("Update", "Add", "Sub", "Max", "Min"):
    _register_nd(_kind)


# --------------------------------------------------------------------------- slice assignment

def _slice_assigned(value: np.ndarray, begin, end, strides, rhs, masks: dict) -> np.ndarray:
    """`value` with value[begin:end:strides] (StridedSlice semantics) replaced by rhs (broadcast)."""
    return KERNELS["TensorStridedSliceUpdate"].fn(value, begin, end, strides,
                                                  np.asarray(rhs).astype(value.dtype, copy=False), **masks)


_SS_MASKS = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0}


@op("ResourceStridedSliceAssign", inputs=["ref", "begin", "end", "strides", "value"], attrs=dict(_SS_MASKS),
    stateful=True)
def resource_strided_slice_assign(ref, begin, end, strides, value, **masks):
    var = _var(ref, "ResourceStridedSliceAssign")
    var.assign(_slice_assigned(var.read(), begin, end, strides, value, masks))
    return ()


@op("StridedSliceAssign", inputs=["ref", "begin", "end", "strides", "value"], attrs=dict(_SS_MASKS),
    stateful=True)
def strided_slice_assign(ref, begin, end, strides, value, **masks):
    ref.assign(_slice_assigned(ref.read(), begin, end, strides, value, masks))
    return ref


# --------------------------------------------------------------------------- TF1 ref variables

@op("VariableV2", "Variable", inputs=[], attrs={"shape": REQUIRED, "dtype": REQUIRED, "container": "",
                                                 "shared_name": ""}, ctx=True, stateful=True)
def variable_v2(ctx, *, shape, dtype, container, shared_name):
    return _variable(ctx, "ref", container, shared_name, dtypes.base(dtype), shape)


@op("Assign", inputs=["ref", "value"], attrs={"validate_shape": True, "use_locking": True}, stateful=True)
def assign(ref, value, *, validate_shape, use_locking):
    value = np.asarray(value)
    if validate_shape:
        _check_assign(ref, value, True, "Assign")
    ref.assign(value)
    if not validate_shape:
        ref.shape = value.shape
    return ref


def _same_size(ref: Variable, value, what: str) -> np.ndarray:
    """TF's DenseUpdateOp: the update must have exactly the variable's shape (no broadcasting)."""
    value = np.asarray(value)
    old = ref.read()
    if value.shape != old.shape:
        raise ExecutionError(f"{what}: Parameters and update must be the same size (variable {ref.name!r} has "
                             f"shape {list(old.shape)}, the update {list(value.shape)})")
    return value


@op("AssignAdd", inputs=["ref", "value"], attrs={"use_locking": False}, stateful=True)
def assign_add(ref, value, *, use_locking):
    ref.assign(_sum(ref, ref.read(), _same_size(ref, value, "AssignAdd"), 1))
    return ref


@op("AssignSub", inputs=["ref", "value"], attrs={"use_locking": False}, stateful=True)
def assign_sub(ref, value, *, use_locking):
    ref.assign(_sum(ref, ref.read(), _same_size(ref, value, "AssignSub"), -1))
    return ref


@op("IsVariableInitialized", inputs=["ref"], attrs={"dtype": REQUIRED}, stateful=True)
def is_variable_initialized(ref, *, dtype):
    return np.array(ref.initialized)


@op("RefIdentity", inputs=["input"], stateful=True)
def ref_identity(input):
    return input


@op("CountUpTo", inputs=["ref"], attrs={"limit": REQUIRED}, stateful=True)
def count_up_to(ref, *, limit):
    old = ref.read()
    if int(old) >= limit:
        raise ExecutionError(f"CountUpTo: reached limit {limit}")
    ref.assign(np.asarray(old + 1, dtype=old.dtype))
    return old
