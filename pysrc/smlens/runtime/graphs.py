"""Graph bodies: a GraphDef, or a FunctionDef instantiated with attrs, as nodes whose inputs are resolved to
(source node, flat output port).

GraphDef inputs are `node:port` / `node` / `^node`. FunctionDef inputs are `arg`, `arg:i` (function
arguments, flattened when an arg is a list) or `node:out_arg:i` (the i-th tensor of output arg `out_arg`),
converted to flat ports through the op's output argument structure (opdefs.MULTI_OUTPUT_ARGS, or the
signature of a library function called as an op).
"""
from __future__ import annotations

from typing import Any

from ..errors import FormatError
from .opdefs import MULTI_OUTPUT_ARGS
from .opregistry import FuncAttr, decode_attr

ARG_OP = "_Arg"  # op type of the pseudo-nodes that stand for function arguments


class Node:
    __slots__ = ("name", "op", "inputs", "controls", "proto", "body", "_attrs", "num_ports")

    def __init__(self, name: str, op: str, proto, body: "Body"):
        self.name = name
        self.op = op
        self.proto = proto
        self.body = body
        self.inputs: list[tuple[str, int]] = []
        self.controls: list[str] = []
        self._attrs: dict | None = None
        self.num_ports = 0  # only meaningful for argument pseudo-nodes

    @property
    def attrs(self) -> dict:
        if self._attrs is None:
            self._attrs = {} if self.proto is None else decode_attrs(self.proto.attr, self.body.subst, self)
        return self._attrs

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.op})"


def decode_value(value, subst: dict | None, where: str = "") -> Any:
    """AttrValue -> Python like registry.decode_attr, substituting `placeholder` attrs from `subst`."""
    kind = value.WhichOneof("value")
    if kind == "placeholder":
        if subst is None or value.placeholder not in subst:
            raise FormatError(f"{where}attr placeholder {value.placeholder!r} has no value")
        return subst[value.placeholder]
    if kind == "func":
        return FuncAttr(value.func.name, {k: decode_value(v, subst, where) for k, v in value.func.attr.items()})
    if kind == "list" and value.list.func:
        return [FuncAttr(f.name, {k: decode_value(v, subst, where) for k, v in f.attr.items()})
                for f in value.list.func]
    return decode_attr(value)


def decode_attrs(attr_map, subst: dict | None, node: Node) -> dict:
    where = f"{node.body.where}: node {node.name!r} ({node.op}): "
    out = {}
    for k, v in attr_map.items():
        try:
            out[k] = decode_value(v, subst, where)
        except FormatError:
            raise
        except Exception as e:  # noqa: BLE001 - corrupt attr values from a model file
            raise FormatError(f"{where}cannot decode attr {k!r}: {e}") from None
    return out


def list_size(spec: str | None, attrs: dict, what: str) -> int:
    """Length of an arg whose size is given by an int attr or a list attr (None: a single tensor)."""
    if not spec:
        return 1
    n = attrs.get(spec)
    if isinstance(n, (list, tuple)):
        return len(n)
    if isinstance(n, int) and n >= 0:
        return n
    raise FormatError(f"{what}: attr {spec!r} giving a list length is missing or invalid")


class Body:
    """Nodes of one graph or function body. `where` names it in messages ('graph', "function 'f'")."""

    def __init__(self, where: str, library: dict, subst: dict | None = None):
        self.where = where
        self.library = library        # function name -> FunctionDef (for ops that are library functions)
        self.subst = subst
        self.nodes: dict[str, Node] = {}
        self.args: list[str] = []     # argument pseudo-node names, in order (functions)
        self.outputs: list[tuple[str, int]] = []
        self.output_names: list[str] = []
        self.control_outputs: list[str] = []

    def node(self, name: str, what: str = "") -> Node:
        n = self.nodes.get(name)
        if n is None:
            raise FormatError(f"{self.where}: {what or 'a node'} refers to {name!r}, which does not exist")
        return n

    # ---- FunctionDef output naming
    def output_range(self, node: Node, out_arg: str) -> tuple[int, int | None]:
        """(flat port of the first tensor of `out_arg` of `node`, its tensor count or None if unknown)."""
        what = f"{self.where}: node {node.name!r} ({node.op})"
        if node.op in MULTI_OUTPUT_ARGS:
            args = [(a.partition(":")[0], a.partition(":")[2]) for a in MULTI_OUTPUT_ARGS[node.op].split()]
        elif node.op in self.library:
            args = [(a.name, a.number_attr or a.type_list_attr) for a in self.library[node.op].signature.output_arg]
        else:
            return 0, None
        off = 0
        for name, spec in args:
            size = list_size(spec, node.attrs, what)
            if name == out_arg:
                return off, size
            off += size
        raise FormatError(f"{what} has no output {out_arg!r}")


def parse_graph_input(ref: str) -> tuple[str, int]:
    name, sep, port = ref.rpartition(":")
    if sep and port.isdigit():
        return name, int(port)
    return ref, 0


def graph_body(graph_def, library: dict) -> Body:
    body = Body("graph", library)
    for nd in graph_def.node:
        if nd.name in body.nodes:
            raise FormatError(f"graph: two nodes are named {nd.name!r}")
        body.nodes[nd.name] = Node(nd.name, nd.op, nd, body)
    for n in body.nodes.values():
        for ref in n.proto.input:
            if ref.startswith("^"):
                n.controls.append(ref[1:])
            else:
                n.inputs.append(parse_graph_input(ref))
    return body


def function_body(fdef, attrs: dict, library: dict) -> Body:
    sig = fdef.signature
    subst = {}
    for a in sig.attr:
        if a.HasField("default_value"):
            subst[a.name] = decode_value(a.default_value, None)
    subst.update(attrs)
    body = Body(f"function {sig.name!r}", library, subst)
    for arg in sig.input_arg:
        n = Node(arg.name, ARG_OP, None, body)
        n.num_ports = list_size(arg.number_attr or arg.type_list_attr, subst,
                                f"{body.where}: argument {arg.name!r}")
        body.nodes[arg.name] = n
        body.args.append(arg.name)
    for nd in fdef.node_def:
        if nd.name in body.nodes:
            raise FormatError(f"{body.where}: two nodes (or a node and an argument) are named {nd.name!r}")
        body.nodes[nd.name] = Node(nd.name, nd.op, nd, body)
    for n in list(body.nodes.values()):
        if n.proto is None:
            continue
        for ref in n.proto.input:
            if ref.startswith("^"):
                n.controls.append(ref[1:])
            else:
                n.inputs.extend(_resolve(body, ref, f"input of node {n.name!r}"))
    for arg in sig.output_arg:
        if arg.name not in fdef.ret:
            raise FormatError(f"{body.where}: output {arg.name!r} has no return value")
        refs = _resolve(body, fdef.ret[arg.name], f"output {arg.name!r}")
        body.outputs.extend(refs)
        body.output_names.extend([arg.name] * len(refs))
    for name in sig.control_output:
        target = fdef.control_ret.get(name, name)
        body.node(target, f"control output {name!r}")
        body.control_outputs.append(target)
    for target in fdef.control_ret.values():
        if target not in body.control_outputs:
            body.node(target, "a control output")
            body.control_outputs.append(target)
    return body


def _resolve(body: Body, ref: str, what: str) -> list[tuple[str, int]]:
    parts = ref.split(":")
    if len(parts) == 1:
        n = body.node(parts[0], what)
        if n.op == ARG_OP:
            return [(n.name, i) for i in range(n.num_ports)]
        return [(n.name, 0)]
    if len(parts) == 2:
        n = body.node(parts[0], what)
        if parts[1].isdigit():
            return [(n.name, int(parts[1]))]
        off, size = body.output_range(n, parts[1])  # a whole list output
        return [(n.name, off + i) for i in range(1 if size is None else size)]
    if len(parts) == 3 and parts[2].isdigit():
        n = body.node(parts[0], what)
        return [(n.name, body.output_range(n, parts[1])[0] + int(parts[2]))]
    raise FormatError(f"{body.where}: {what} {ref!r} is not a valid tensor reference")
