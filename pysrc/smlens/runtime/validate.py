"""Plan-time type check: every node input's dtype must be what the op's declared type attrs say.

TensorFlow refuses such graphs when it imports them ("Input 0 of node X was passed float from Y:0
incompatible with expected int32"); without this check a hostile graph whose attrs disagree with its
inputs (type confusion) would run kernels on data of the wrong type. The op signatures come from
TensorFlow's OpDefs (smlens.optable). Anything not known statically — function arguments, ops without an
entry, attrs left at their (stripped) defaults — is skipped, so the check never refuses a graph TF accepts.
One pass over the needed nodes, with attrs the compiler decodes anyway.
"""
from __future__ import annotations

from .. import dtypes, optable
from ..errors import FormatError
from .graphs import ARG_OP, Body, Node

_TYPE_NAMES: dict[int, str] = {}

# One argument of an OpDef: (count, type). `count` is None for a single tensor or the int attr naming how
# many; `type` is a fixed DataType enum, a type attr name, or ("list", attr) for a list(type) attr.
Arg = tuple[str | None, "int | str | tuple[str, str]"]
_SIGNATURES: dict[str, tuple[tuple[Arg, ...], tuple[Arg, ...]] | None] = {}


def _signature(op: str) -> tuple[tuple[Arg, ...], tuple[Arg, ...]] | None:
    """The op's (input args, output args) from TF's OpDef, parsed once per op; None when TF has no such op."""
    if op not in _SIGNATURES:
        op_def = optable.get(op)
        _SIGNATURES[op] = None if op_def is None else (tuple(map(_parse_arg, op_def.inputs)),
                                                        tuple(map(_parse_arg, op_def.outputs)))
    return _SIGNATURES[op]


def _parse_arg(arg: str) -> Arg:
    """optable's "name:T" form ("$attr", "N*T", "@attr", fixed dtype name; "&" for refs) -> Arg."""
    spec = arg.lstrip("&").split(":", 1)[1]
    if spec.startswith("@"):
        return None, ("list", spec[1:])
    count, _, typ = spec.rpartition("*")
    if typ.startswith("$"):
        return count or None, typ[1:]
    return count or None, dtypes.from_name(typ).enum


def check_input_types(body: Body, nodes: list[Node]) -> None:
    """FormatError naming the node, input and both dtypes at the first mismatch."""
    outputs: dict[str, list | None] = {}
    for node in nodes:
        sig = None if node.proto is None else _signature(node.op)
        if sig is None:
            continue
        if node.op == "Const":
            _check_const(body, node)
            continue
        _check_arity(body, node, sig[0])
        want = _expand(sig[0], node)
        if want is None or len(want) != len(node.inputs):
            continue   # list lengths unknown here; the compiler reports a wrong input count itself
        for k, (src, port) in enumerate(node.inputs):
            w = want[k]
            if w is None:
                continue
            got = _output_type(body, src, port, outputs)
            if got is not None and got != w:
                raise FormatError(f"{body.where}: node {node.name!r} ({node.op}): input {k} is "
                                  f"{_name(got)} (from {src}:{port}) but the op's attrs require {_name(w)} "
                                  "(TensorFlow refuses this graph)")


def _check_arity(body: Body, node: Node, args: tuple) -> None:
    """An op without list inputs takes exactly as many inputs as its OpDef has (TF refuses the graph at
    import otherwise); the executors rely on it (e.g. Switch unpacks data and predicate)."""
    if all(count is None and not isinstance(typ, tuple) for count, typ in args) and len(args) != len(node.inputs):
        raise FormatError(f"{body.where}: node {node.name!r} ({node.op}) has {len(node.inputs)} input(s); "
                          f"TensorFlow's {node.op} takes {len(args)}")


def _check_const(body: Body, node: Node) -> None:
    attr = node.proto.attr
    if "value" in attr and "dtype" in attr and attr["value"].HasField("tensor"):
        have, want = attr["value"].tensor.dtype, attr["dtype"].type
        if have and want and _base(have) != _base(want):
            raise FormatError(f"{body.where}: Const node {node.name!r}: its tensor is {_name(_base(have))} but "
                              f"attr dtype says {_name(_base(want))}")


def _output_type(body: Body, name: str, port: int, cache: dict) -> int | None:
    if name not in cache:
        node = body.nodes.get(name)
        sig = None if node is None or node.op == ARG_OP or node.proto is None else _signature(node.op)
        cache[name] = None if sig is None else _expand(sig[1], node)
    types = cache[name]
    return types[port] if types is not None and 0 <= port < len(types) else None


def _expand(args: tuple[Arg, ...], node: Node) -> list | None:
    """OpDef args -> one base DataType enum (or None: unknown) per flat tensor; None if a list length
    is unknown."""
    attrs = node.proto.attr
    out: list = []
    for count, typ in args:
        if isinstance(typ, tuple):
            if typ[1] not in attrs:
                return None
            out.extend(_base(t) for t in _resolved(node, typ[1], "list"))
            continue
        t = _base(typ) if isinstance(typ, int) else _type_attr(node, typ)
        if count is None:
            out.append(t)
            continue
        if count not in attrs:
            return None
        n = _resolved(node, count, "i")
        if not isinstance(n, int) or not 0 <= n <= 100_000:
            return None
        out.extend([t] * n)
    return out


def _type_attr(node: Node, key: str) -> int | None:
    if key not in node.proto.attr:
        return None   # left at its default (SavedModels strip default-valued attrs): not checked
    t = _resolved(node, key, "type")
    return _base(t) if isinstance(t, int) and t else None


def _resolved(node: Node, key: str, kind: str):
    """An attr's raw value, with function-body placeholders substituted from the instantiation."""
    value = node.proto.attr[key]
    if value.WhichOneof("value") == "placeholder":
        sub = (node.body.subst or {}).get(value.placeholder)
        if kind == "type":
            return getattr(sub, "enum", None)
        if kind == "list":
            return [getattr(x, "enum", 0) for x in sub] if isinstance(sub, (list, tuple)) else []
        return sub if isinstance(sub, int) else None
    if kind == "type":
        return value.type
    if kind == "list":
        return list(value.list.type)
    return value.i


def _base(enum: int) -> int:
    return enum - 100 if enum > 100 else enum   # reference types (DT_FLOAT_REF = 101) carry their base type


def _name(enum: int) -> str:
    if not _TYPE_NAMES:
        for e in range(1, 40):
            try:
                _TYPE_NAMES[e] = dtypes.from_enum(e).name
            except Exception:  # noqa: BLE001 - enums smlens has no name for print as numbers
                pass
    return _TYPE_NAMES.get(enum, f"DataType {enum}")
