"""Control flow and graph-structure kernels: function calls, v2 control flow (If/While/Case), v1 control
flow primitives (Switch/Merge/Enter/Exit/NextIteration/LoopCond), NoOp, Placeholder, Assert and Print.

Function-calling kernels take an OpContext whose `runtime` compiles library functions once per (name, attrs)
(runtime.function(FuncAttr) -> plan with .call(list) -> list of outputs).
The v1 primitives are scheduled by the dataflow executor (runtime/dataflow.py), which gives them their
frame and dead-tensor semantics; called directly, a dead tensor is None.
"""
from __future__ import annotations

import sys

import numpy as np

from ..errors import ExecutionError
from ..limits import check_deadline
from .registry import REQUIRED, op

MAX_ITERATIONS = 10_000_000


def to_bool(x, what: str = "predicate") -> bool:
    """TensorFlow's tensor truthiness (If/While conditions): a scalar is true when nonzero / a non-empty
    string; any other tensor is true when it has elements."""
    a = np.asarray(x)
    if a.ndim == 0:
        v = a[()]
        if isinstance(v, (bytes, str)):
            return len(v) > 0
        return bool(v)
    return a.size > 0


def _plan(ctx, fattr):
    plan = ctx.runtime.function(fattr)
    if plan is None:
        raise ExecutionError(f"function {fattr.name!r} is being compiled (recursive call)")
    return plan


# --------------------------------------------------------------------------- calls

@op("PartitionedCall", "StatefulPartitionedCall", inputs=["*args"], attrs={"f": REQUIRED}, ctx=True,
    stateful=True)
def partitioned_call(ctx, args, *, f):
    return _plan(ctx, f).call(args)


@op("If", "StatelessIf", inputs=["cond", "*input"], attrs={"then_branch": REQUIRED, "else_branch": REQUIRED},
    ctx=True, stateful=True)
def if_(ctx, cond, inputs, *, then_branch, else_branch):
    branch = then_branch if to_bool(cond, "If condition") else else_branch
    return _plan(ctx, branch).call(inputs)


@op("Case", "StatelessCase", inputs=["branch_index", "*input"], attrs={"branches": REQUIRED}, ctx=True,
    stateful=True)
def case(ctx, branch_index, inputs, *, branches):
    if not branches:
        raise ExecutionError("Case has no branches")
    i = int(np.asarray(branch_index).reshape(-1)[0]) if np.size(branch_index) == 1 else -1
    if not 0 <= i < len(branches):
        i = len(branches) - 1  # out of range: the last branch is the default
    return _plan(ctx, branches[i]).call(inputs)


@op("While", "StatelessWhile", inputs=["*input"], attrs={"cond": REQUIRED, "body": REQUIRED}, ctx=True,
    stateful=True)
def while_(ctx, inputs, *, cond, body):
    cond_plan, body_plan = _plan(ctx, cond), _plan(ctx, body)
    values = list(inputs)
    for _ in range(MAX_ITERATIONS):
        check_deadline()  # --timeout also where no timer signal can interrupt (threads, Pyodide)
        if not to_bool(cond_plan.call(values)[0], "While condition"):
            return values
        values = body_plan.call(values)
        if len(values) != len(inputs):
            raise ExecutionError(f"While body {body.name!r} returned {len(values)} values for {len(inputs)} "
                                 "loop variables")
    raise ExecutionError(f"While loop ran more than {MAX_ITERATIONS} iterations")


# --------------------------------------------------------------------------- graph structure

@op("NoOp", inputs=[])
def no_op():
    return ()


@op("Placeholder", inputs=[], attrs={"dtype": REQUIRED, "shape": None}, ctx=True, stateful=True)
def placeholder(ctx, *, dtype, shape):
    raise ExecutionError(f"placeholder {ctx.node_name!r} ({dtype.name}) needs a value: feed it")


# --------------------------------------------------------------------------- v1 control flow

@op("Switch", "RefSwitch", inputs=["data", "pred"])
def switch(data, pred):
    """(output_false, output_true); the untaken one is dead (None)."""
    return (None, data) if to_bool(pred, "Switch predicate") else (data, None)


@op("Merge", "RefMerge", inputs=["*inputs"])
def merge(inputs):
    """The first live (non-None) input and its index."""
    for i, x in enumerate(inputs):
        if x is not None:
            return x, np.array(i, dtype=np.int32)
    return None, None


@op("Enter", "RefEnter", "Exit", "RefExit", "NextIteration", "RefNextIteration", inputs=["data"])
def frame_pass(data):
    return data


@op("LoopCond", inputs=["input"])
def loop_cond(input):
    return input


@op("ControlTrigger", inputs=[])
def control_trigger():
    return ()


# --------------------------------------------------------------------------- checks and printing

def _element(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer() and abs(v) < 1e16:
        return str(int(v))
    return str(v)


def summarize_tensor(x, limit: int) -> str:
    """A tensor as TensorFlow's Assert/Print show it: nested brackets, at most `limit` elements (-1: all),
    '...' where elements were left out."""
    a = np.asarray(x)
    flat = a.reshape(-1)
    if a.ndim == 0:
        return _element(flat[0])
    limit = flat.size if limit < 0 else limit
    pos = 0
    out: list[str] = []

    def dim(d: int) -> None:
        nonlocal pos
        count = a.shape[d]
        if d == a.ndim - 1:
            for i in range(count):
                if pos >= limit:
                    if i > 0 and d > 0:
                        out.append("...")
                    return
                if i:
                    out.append(" ")
                out.append(_element(flat[pos]))
                pos += 1
            return
        for _ in range(count):
            if pos >= limit:
                return
            out.append("[")
            dim(d + 1)
            out.append("]")

    dim(0)
    return "[" + "".join(out) + ("..." if flat.size > limit else "") + "]"


@op("Assert", inputs=["condition", "*data"], attrs={"summarize": 3}, stateful=True)
def assert_(condition, data, *, summarize):
    c = np.asarray(condition)
    if c.dtype != np.bool_ or c.ndim != 0:
        raise ExecutionError(f"Assert condition must be a bool scalar, got {c.dtype} shape {list(c.shape)}")
    if not bool(c):
        raise ExecutionError("assertion failed: " + " ".join(
            f"[{summarize_tensor(d, summarize)}]" if np.ndim(d) == 0 else summarize_tensor(d, summarize)
            for d in data))
    return ()


@op("Print", inputs=["input", "*data"], attrs={"message": "", "first_n": -1, "summarize": 3}, ctx=True,
    stateful=True)
def print_(ctx, input, data, *, message, first_n, summarize):
    count = ctx.attrs.get("_printed", 0)
    if first_n < 0 or count < first_n:
        ctx.attrs["_printed"] = count + 1
        sys.stderr.write(message + "".join(summarize_tensor(d, summarize) for d in data) + "\n")
    return input


@op("PrintV2", inputs=["input"], attrs={"output_stream": "stderr", "end": "\n"}, stateful=True)
def print_v2(input, *, output_stream, end):
    a = np.asarray(input)
    text = a.reshape(-1)[0] if a.size == 1 else b""
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    stream = sys.stdout if output_stream == "stdout" else sys.stderr
    stream.write(text + end)
    return ()


@op("DeviceIndex", inputs=[], attrs={"device_names": REQUIRED})
def device_index(*, device_names):
    """The position of the device type the op runs on (always CPU here) in device_names, or its length:
    how tf.__internal__.execute_fn_for_device (Keras 2 RNN layers) picks its CPU branch."""
    names = list(device_names)
    return np.array(names.index("CPU") if "CPU" in names else len(names), np.int32)
