"""`saved_model_cli show` (TensorFlow 2.21) as pure functions over a parsed SavedModel proto.

Every function returns exactly what saved_model_cli prints to stdout, with two deliberate
differences where TensorFlow's order is random (Python set / protobuf map hash order): the ops of
a MetaGraph and the keys of dicts decoded from structured values are printed sorted.
"""
from __future__ import annotations

import collections
import inspect
import re
from collections.abc import Iterable

from .. import optable
from ..errors import FormatError, InputError, NotFoundError
from ..kernels.registry import decode_attr
from ..proto import saved_model_pb2
from . import pyrepr
from .vocab import signature_json, tensor_info_json

SavedModel = saved_model_pb2.SavedModel
MetaGraphDef = saved_model_pb2.MetaGraphDef

_NA_UNKNOWN = " N/A (could not be listed due to unknown reasons)"
_NA_CUSTOM_OPS = " N/A (could not be listed due to the existence of custom ops in the SavedModel)"


class _Out:
    """Collects text the way Python's print() would write it."""

    def __init__(self):
        self.parts: list[str] = []

    def print(self, s: str = "", end: str = "\n") -> None:
        self.parts.append(s + end)

    def text(self) -> str:
        return "".join(self.parts)


# ------------------------------------------------------------------ tag-sets and signatures

def show_tagsets(sm: SavedModel) -> str:
    """`saved_model_cli show --dir D`."""
    out = _Out()
    out.print("The given SavedModel contains the following tag-sets:")
    for tags in sorted(list(mg.meta_info_def.tags) for mg in sm.meta_graphs):
        out.print(repr(", ".join(sorted(tags))))
    return out.text()


def _find_meta_graph(sm: SavedModel, tag_set: str) -> MetaGraphDef:
    """saved_model_utils.get_meta_graph_def: tags split on ',' (empty tags dropped), set equality."""
    wanted = {t for t in tag_set.split(",") if t}
    valid = []
    for mg in sm.meta_graphs:
        if set(mg.meta_info_def.tags) == wanted:
            return mg
        valid.append(",".join(mg.meta_info_def.tags))
    raise NotFoundError(f"MetaGraphDef associated with tag-set {tag_set} could not be found in the "
                        f"SavedModel. Please use one of the following tag-sets: {valid!r}")


def _sanitized_tag_set(tag_set: str) -> str:
    """saved_model_cli strips each tag for --signature_def and --list_ops (not for the key listing)."""
    tags = [t.strip() for t in tag_set.split(",") if t.strip()]
    if not tags:
        raise InputError("tag_set must contain at least one non-empty item.")
    return ",".join(tags)


def show_signature_keys(sm: SavedModel, tag_set: str) -> str:
    """`saved_model_cli show --dir D --tag_set T`."""
    mg = _find_meta_graph(sm, tag_set)
    out = _Out()
    out.print("The given SavedModel MetaGraphDef contains SignatureDefs with the following keys:")
    for key in sorted(mg.signature_def):
        out.print(f'SignatureDef key: "{key}"')
    return out.text()


def _dtype_name(enum: int, where: str) -> str:
    try:
        return pyrepr.DT_ENUM_NAMES[enum]
    except KeyError:
        raise FormatError(f"{where}: unknown DataType enum value {enum}") from None


def _tensor_info_lines(out: _Out, info, indent: int, where: str) -> None:
    pad = "  " * indent
    out.print(pad + "    dtype: " + _dtype_name(info.dtype, where))
    if info.tensor_shape.unknown_rank:
        shape = "unknown_rank"
    else:
        shape = "(" + ", ".join(str(d.size) for d in info.tensor_shape.dim) + ")"
    out.print(pad + "    shape: " + shape)
    out.print(pad + "    name: " + info.name)


def _signature_lines(out: _Out, mg: MetaGraphDef, key: str, indent: int) -> None:
    if key not in mg.signature_def:
        raise NotFoundError(f'Could not find signature "{key}". Please choose from: '
                            f'{", ".join(sorted(mg.signature_def))}')
    sig = mg.signature_def[key]
    pad = "  " * indent
    out.print(pad + "The given SavedModel SignatureDef contains the following input(s):")
    for name in sorted(sig.inputs):
        out.print(pad + f"  inputs['{name}'] tensor_info:")
        _tensor_info_lines(out, sig.inputs[name], indent + 1, f"signature {key!r} input {name!r}")
    out.print(pad + "The given SavedModel SignatureDef contains the following output(s):")
    for name in sorted(sig.outputs):
        out.print(pad + f"  outputs['{name}'] tensor_info:")
        _tensor_info_lines(out, sig.outputs[name], indent + 1, f"signature {key!r} output {name!r}")
    out.print(pad + "Method name is: " + sig.method_name)


def show_signature(sm: SavedModel, tag_set: str, key: str) -> str:
    """`saved_model_cli show --dir D --tag_set T --signature_def K`."""
    mg = _find_meta_graph(sm, _sanitized_tag_set(tag_set))
    out = _Out()
    _signature_lines(out, mg, key, 0)
    return out.text()


# ------------------------------------------------------------------ ops

def ops_used(mg: MetaGraphDef) -> list[str]:
    """meta_graph.ops_used_by_graph_def, sorted: op types of the graph and of the functions it calls.

    Like TensorFlow, functions are followed only when a node's op is a function name or a
    (Stateful)PartitionedCall's `f`; function names themselves are not ops.
    """
    gd = mg.graph_def
    functions = {f.signature.name: f for f in gd.library.function}
    used: set[str] = set()
    pending = []

    def mark(op: str) -> None:
        if op not in used and op in functions:
            pending.append(functions[op])
        used.add(op)

    def visit(node) -> None:
        mark(node.op)
        if node.op in ("PartitionedCall", "StatefulPartitionedCall"):
            mark(node.attr["f"].func.name if "f" in node.attr else "")

    for node in gd.node:
        visit(node)
    while pending:
        for node in pending.pop().node_def:
            visit(node)
    return sorted(op for op in used if op not in functions)


def _ops_line(mg: MetaGraphDef) -> str:
    ops = ops_used(mg)
    shown = "{" + ", ".join(repr(o) for o in ops) + "}" if ops else "set()"
    return f"The MetaGraph with tag set {list(mg.meta_info_def.tags)!r} contains the following ops: {shown}"


def list_ops(sm: SavedModel, tag_set: str | None, signature_def: str | None = None) -> str:
    """`saved_model_cli show --dir D --list_ops [--tag_set T [--signature_def K]]`.

    With a tag-set TensorFlow prints the ops line and then, as without --list_ops, the
    signature keys (or the signature K's inputs/outputs).
    """
    if tag_set is None:
        return "--list_ops must be paired with a tag-set or with --all.\n" + show_tagsets(sm)
    mg = _find_meta_graph(sm, _sanitized_tag_set(tag_set))
    text = _ops_line(mg) + "\n"
    if signature_def is None:
        return text + show_signature_keys(sm, tag_set)
    return text + show_signature(sm, tag_set, signature_def)


# ------------------------------------------------------------------ concrete functions

_INFERENCE_NAME = re.compile(r"^__inference_(.*)_\d+$")
# Ops without outputs, for FunctionDef nodes that lack the `_output_shapes` attr.
_NO_OUTPUT_OPS = {"NoOp", "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp", "SaveV2",
                  "MergeV2Checkpoints", "DisableCopyOnRead", "DestroyResourceOp", "InitializeTableV2",
                  "InitializeTableFromTextFileV2", "LookupTableImportV2", "LookupTableInsertV2"}


def _num_outputs(node) -> int:
    if "_output_shapes" in node.attr:
        return len(node.attr["_output_shapes"].list.shape)
    if node.op in _NO_OUTPUT_OPS:
        return 0
    for list_attr in ("Tout", "dtypes", "T"):
        if list_attr in node.attr and node.attr[list_attr].WhichOneof("value") == "list":
            return len(node.attr[list_attr].list.type)
    return 1


def _function_deps(fdef, library_names: set[str], gradient_funcs: dict[str, str]) -> set[str]:
    deps = set()
    for node in fdef.node_def:
        grad_type = None
        if "_gradient_op_type" in node.attr and node.op not in ("StatefulPartitionedCall", "PartitionedCall"):
            grad_type = node.attr["_gradient_op_type"].s.decode("utf-8", "replace")
        if node.op in library_names:
            deps.add(node.op)
        elif grad_type and grad_type in gradient_funcs:
            deps.add(gradient_funcs[grad_type])
        else:
            for value in node.attr.values():
                kind = value.WhichOneof("value")
                if kind == "func":
                    deps.add(value.func.name)
                elif kind == "list":
                    deps.update(f.name for f in value.list.func)
    return deps


def _load_order(library) -> list | None:
    """The FunctionDefs in the order tf.saved_model.load imports them (None: it would fail)."""
    names = {f.signature.name for f in library.function}
    gradient_funcs = {g.registered_op_type: g.gradient_func for g in library.registered_gradients
                      if g.registered_op_type}
    edges = collections.defaultdict(list)
    in_count = collections.defaultdict(int)
    for fdef in library.function:
        for dep in _function_deps(fdef, names, gradient_funcs):
            edges[dep].append(fdef.signature.name)
            in_count[fdef.signature.name] += 1
    ready = [f.signature.name for f in library.function if in_count[f.signature.name] == 0]
    order = []
    while ready:
        name = ready.pop()
        order.append(name)
        for dest in edges[name]:
            in_count[dest] -= 1
            if not in_count[dest]:
                ready.append(dest)
    if len(order) != len(library.function):
        return None
    by_name = {f.signature.name: f for f in library.function}
    return [by_name[n] for n in order]


def _loaded_names(library, order: list) -> dict[str, str]:
    """Names the loaded ConcreteFunctions get: `__inference_<clean name>_<ops.uid()>`.

    saved_model_cli sorts a function's concrete functions by these names, so the uid counter of a
    fresh process is replayed: 1 for the Graph, 1 for the load's shared-name suffix, 1 per
    registered custom gradient; per imported function 1 for its FuncGraph, 1 per tensor created
    (inputs + node outputs) and 1 for the name itself.
    """
    uid = 2 + sum(1 for g in library.registered_gradients if g.registered_op_type)
    names = {}
    for fdef in order:
        uid += 1 + len(fdef.signature.input_arg) + sum(_num_outputs(n) for n in fdef.node_def)
        orig = fdef.signature.name
        m = _INFERENCE_NAME.search(orig)
        names[orig] = f"__inference_{m.group(1) if m else orig}_{uid}"
        uid += 1
    return names


class _Unlistable(Exception):
    """tf.saved_model.load would fail: saved_model_cli prints N/A."""


class _CustomOps(_Unlistable):
    """... because a library function uses an op TensorFlow does not register."""


def _check_library(order: list, library_names: set[str]) -> None:
    """What importing the function library (in load order) would reject: per function, first an op TF
    does not register ("Op type not registered": N/A due to custom ops), then a node that fails
    validation against its OpDef (a required attr missing, a value of the wrong type or not allowed)."""
    for fdef in order:
        where = f"function {fdef.signature.name!r}"
        for node in fdef.node_def:
            if node.op not in library_names and optable.get(node.op) is None:
                raise _CustomOps(f"{where}: node {node.name!r} uses op {node.op!r}, which TensorFlow does "
                                 "not register")
        for node in fdef.node_def:
            op_def = optable.get(node.op) if node.op not in library_names else None
            if op_def is None:
                continue
            attrs = {}
            for k, v in node.attr.items():
                if v.WhichOneof("value") == "placeholder":
                    continue
                try:
                    attrs[k] = decode_attr(v)
                except Exception as e:  # noqa: BLE001 - a corrupt value is a validation failure too
                    raise _Unlistable(f"{where}: node {node.name!r}: bad attr {k!r}: {e}") from None
            placeholders = {k for k, v in node.attr.items() if v.WhichOneof("value") == "placeholder"}
            err = optable.validate_node(op_def, attrs, present=placeholders)
            if err:
                raise _Unlistable(f"{where}: node {node.name!r} ({node.op}): {err}")


def _root_functions(sm: SavedModel):
    """[(attribute name, [(loaded name, structured input signature, arg keywords)])] of the root."""
    if len(sm.meta_graphs) != 1:
        raise _Unlistable("tf.saved_model.load needs tags with several MetaGraphs")
    mg = sm.meta_graphs[0]
    og = mg.object_graph_def
    library = mg.graph_def.library
    order = _load_order(library)
    if order is None or not og.nodes:
        raise _Unlistable("function library cannot be imported")
    _check_library(order, {f.signature.name for f in library.function})
    loaded = _loaded_names(library, order)
    decoder = pyrepr.Decoder()
    signatures = {}
    try:
        for fdef in order:
            name = fdef.signature.name
            if name in og.concrete_functions:
                proto = og.concrete_functions[name]
                signatures[name] = decoder.decode(proto.canonicalized_input_signature)
                decoder.decode(proto.output_signature)
    except pyrepr.DecodeError as e:
        raise _Unlistable(str(e)) from None
    except RecursionError:
        raise _Unlistable("structured value nested too deeply") from None
    for node in og.nodes:
        if any(not 0 <= ref.node_id < len(og.nodes) for ref in node.children):
            raise _Unlistable("object graph child reference out of range")
    for node in og.nodes:
        kind = node.WhichOneof("kind")
        if kind == "function":
            refs, spec = list(node.function.concrete_functions), node.function.function_spec
        elif kind == "bare_concrete_function":
            bare = node.bare_concrete_function
            refs = [bare.concrete_function_name]
            spec = bare.function_spec if bare.HasField("function_spec") else None
        else:
            continue
        if any(r not in loaded for r in refs):
            raise _Unlistable("a function refers to a concrete function missing from the library")
        if spec is not None or kind == "function":
            sig = _function_type(spec, decoder)
            for r in refs:
                _check_binds(sig, signatures.get(r))

    # The loader sets each child as an attribute of the root (a later one with the same name wins);
    # saved_model_cli lists the attributes that are functions, by name.
    children = {ref.local_name: ref.node_id for ref in og.nodes[0].children}
    result = []
    for name in sorted(children):
        child = og.nodes[children[name]]
        kind = child.WhichOneof("kind")
        if kind == "function":
            fn_names, keywords = list(child.function.concrete_functions), []
        elif kind == "bare_concrete_function":
            fn_names = [child.bare_concrete_function.concrete_function_name]
            keywords = list(child.bare_concrete_function.argument_keywords)
        else:
            continue
        fns = [(loaded[n], signatures.get(n), keywords) for n in fn_names]
        fns.sort(key=lambda f: f[0].encode("utf-8"))
        result.append((name, fns))
    return result


def _sanitize_arg_name(name: str) -> str:
    """function_type.sanitize_arg_name: a valid Python parameter name."""
    swapped = "".join(c if c.isalnum() else "_" for c in name)
    return swapped if swapped[0].isalpha() else "arg_" + swapped


def _function_type(spec, decoder: pyrepr.Decoder) -> inspect.Signature:
    """The calling convention tf.saved_model.load rebuilds from a FunctionSpec proto."""
    try:
        fas = decoder.decode(spec.fullargspec)
        input_signature = decoder.decode(spec.input_signature)
        args = list(fas.args)
        if spec.is_method or (args and args[0] == "self"):
            if not args:
                raise _Unlistable("method without a 'self' argument")
            args = args[1:]
        defaults = set()
        if fas.defaults:
            defaults.update(_sanitize_arg_name(a) for a in args[len(args) - len(fas.defaults):])
        defaults.update(_sanitize_arg_name(k) for k in (fas.kwonlydefaults or {}))
        kind = inspect.Parameter
        params = [kind(_sanitize_arg_name(a), kind.POSITIONAL_OR_KEYWORD,
                       default=None if _sanitize_arg_name(a) in defaults else kind.empty) for a in args]
        if fas.varargs is not None:
            params.append(kind(fas.varargs, kind.VAR_POSITIONAL))
        params += [kind(_sanitize_arg_name(k), kind.KEYWORD_ONLY,
                        default=None if _sanitize_arg_name(k) in defaults else kind.empty)
                   for k in fas.kwonlyargs]
        if fas.varkw is not None:
            params.append(kind(fas.varkw, kind.VAR_KEYWORD))
        if input_signature:
            params = _constrained(params, input_signature, defaults)
        return inspect.Signature(params)
    except (pyrepr.DecodeError, AttributeError, TypeError, ValueError, IndexError, RecursionError) as e:
        raise _Unlistable(f"bad function spec: {e}") from None


def _flatten(value) -> list:
    if isinstance(value, dict):
        return [leaf for k in sorted(value) for leaf in _flatten(value[k])]
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _flatten(v)]
    return [value]


def _constrained(params: list, input_signature, defaults: set) -> list:
    """function_type.add_type_constraints: parameters once a tf.function has an input_signature."""
    if not isinstance(input_signature, (tuple, list)):
        raise TypeError("input_signature must be either a tuple or a list")
    for leaf in _flatten(input_signature):
        if not isinstance(leaf, pyrepr.TypeSpec) or leaf.class_name == "VariableSpec":
            raise TypeError("input_signature must only contain TensorSpecs")
    constraints = list(input_signature)
    kind = inspect.Parameter
    has_var_positional = any(p.kind is kind.VAR_POSITIONAL for p in params)
    out = []
    for p in params:
        positional = p.kind
        if has_var_positional and p.kind is kind.POSITIONAL_OR_KEYWORD:
            positional = kind.POSITIONAL_ONLY
        if p.name == "self" or p.kind is kind.VAR_KEYWORD:
            if p.name == "self":
                out.append(p.replace(kind=positional))
        elif p.kind is kind.VAR_POSITIONAL:
            out += [kind(f"{p.name}_{i}", kind.POSITIONAL_ONLY) for i in range(len(constraints))]
            constraints = []
        elif p.kind is kind.KEYWORD_ONLY and p.name not in defaults:
            raise TypeError(f"keyword-only parameter `{p.name}` must have a default value")
        elif constraints:
            constraints.pop(0)
            out.append(p.replace(kind=positional))
        elif p.name in defaults:
            out.append(p.replace(kind=positional))
        else:
            raise TypeError(f"input_signature missing type constraint for {p.name}")
    if constraints:
        raise TypeError(f"input_signature contains {len(constraints)} extra type constraints.")
    return out


def _check_binds(function_type: inspect.Signature, signature) -> None:
    """Loading binds each concrete function's (args, kwargs) to its function's parameters."""
    try:
        args, kwargs = signature
        function_type.bind(*args, **{_sanitize_arg_name(k): v for k, v in kwargs.items()})
    except (TypeError, ValueError, AttributeError, IndexError) as e:
        raise _Unlistable(f"signature does not match the function: {e}") from None


def _type_name(value) -> str:
    if isinstance(value, pyrepr.TypeSpec):
        return value.class_name
    if isinstance(value, pyrepr.Tensor):
        return "SymbolicTensor"
    return type(value).__name__


def _quoted(value) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def _print_args(out: _Out, arguments, label: str) -> None:
    """saved_model_cli's _print_args at indent 4 (a dict of keyword arguments prints its keys)."""
    pad = "        "
    if not isinstance(arguments, Iterable):
        return
    for index, element in enumerate(arguments, 1):
        out.print(pad + f"{label} #{index}")
        if isinstance(element, str):
            out.print(pad + "  " + element)
        elif isinstance(element, pyrepr.TensorSpec):
            out.print(pad + "  " + f"{element.name}: {element!r}")
        elif isinstance(element, Iterable) and not isinstance(element, dict) and getattr(element, "ndim", 1):
            out.print(pad + "  DType: " + _type_name(element))
            out.print(pad + "  Value: [", end="")
            for value in element:
                out.print(_quoted(value), end=", ")
            out.print("\b\b]")
        elif isinstance(element, dict):
            out.print(pad + "  DType: dict")
            out.print(pad + "  Value: {", end="")
            for key, value in element.items():
                out.print(f"'{key}': {_quoted(value)}", end=", ")
            out.print("\b\b}")
        else:
            out.print(pad + "  DType: " + _type_name(element))
            out.print(pad + "  Value: " + str(element))


def _concrete_functions_section(out: _Out, sm: SavedModel) -> None:
    if not any(mg.HasField("object_graph_def") for mg in sm.meta_graphs):
        return
    out.print("\nConcrete Functions:", end="")
    try:
        functions = _root_functions(sm)
    except _CustomOps:
        out.print(_NA_CUSTOM_OPS)
        return
    except _Unlistable:
        out.print(_NA_UNKNOWN)
        return
    for name, fns in functions:
        out.print(f"\n  Function Name: '{name}'")
        for index, (_, signature, keywords) in enumerate(fns, 1):
            args = kwargs = None
            if signature:
                if not isinstance(signature, (tuple, list)) or len(signature) != 2:
                    continue  # saved_model_cli itself crashes on such a signature
                args, kwargs = signature
            elif keywords:
                args = keywords
            if args:
                out.print(f"    Option #{index}")
                out.print("      Callable with:")
                _print_args(out, args, "Argument")
            if kwargs:
                _print_args(out, kwargs, "Named Argument")


def show_all(sm: SavedModel) -> str:
    """`saved_model_cli show --dir D --all`."""
    out = _Out()
    for mg in sorted(sm.meta_graphs, key=lambda m: list(m.meta_info_def.tags)):
        tags = list(mg.meta_info_def.tags)
        out.print(f"\nMetaGraphDef with tag-set: '{', '.join(tags)}' contains the following SignatureDefs:")
        for key in sorted(mg.signature_def):
            out.print(f"\nsignature_def['{key}']:")
            _signature_lines(out, mg, key, 1)
        out.print(_ops_line(mg))
    _concrete_functions_section(out, sm)
    return out.text()


# ------------------------------------------------------------------ JSON

_tensor_info_json = tensor_info_json   # the shared vocabulary (views/vocab.py)


def _arg_text(value) -> str:
    if isinstance(value, pyrepr.TensorSpec):
        return f"{value.name}: {value!r}"
    return value if isinstance(value, str) else repr(value)


def describe(sm: SavedModel) -> dict:
    """JSON-friendly summary: tag-sets, signatures, ops per MetaGraph and the root's functions."""
    meta_graphs = []
    for mg in sm.meta_graphs:
        sigs = []
        with_default = {n.name for n in mg.graph_def.node if n.op == "PlaceholderWithDefault"}
        for key in sorted(mg.signature_def):
            sig = mg.signature_def[key]
            entry = signature_json(key, sig)
            for spec in entry["inputs"]:   # an input TF may leave out: it has a default
                if spec["encoding"] == "name" and spec["name"].split(":")[0] in with_default \
                        and spec["name"].partition(":")[2] in ("", "0"):
                    spec["optional"] = True
            sigs.append(entry)
        meta_graphs.append({"tags": list(mg.meta_info_def.tags), "signatures": sigs, "ops": ops_used(mg)})
    doc = {"tag_sets": [list(mg.meta_info_def.tags) for mg in sm.meta_graphs],
           "meta_graphs": meta_graphs, "functions": None, "functions_error": None}
    if any(mg.HasField("object_graph_def") for mg in sm.meta_graphs):
        try:
            functions = _root_functions(sm)
        except _Unlistable as e:
            doc["functions_error"] = str(e)
        else:
            doc["functions"] = [{"name": name, "concrete_functions": [_options_json(fn) for fn in fns]}
                                for name, fns in functions]
    return doc


def _options_json(fn) -> dict:
    loaded_name, signature, keywords = fn
    args, kwargs = [], []
    if signature and isinstance(signature, (tuple, list)) and len(signature) == 2:
        a, k = signature
        args = [_arg_text(v) for v in a] if isinstance(a, Iterable) else []
        kwargs = [f"{key}: {_arg_text(v)}" for key, v in k.items()] if isinstance(k, dict) else []
    elif keywords:
        args = list(keywords)
    return {"args": args, "kwargs": kwargs}
