"""Variants of the corpus model module_basic whose function library TensorFlow cannot import, so
`saved_model_cli show --all` prints "Concrete Functions: N/A (...)". Each mutation edits a SavedModel
message in place; it works on smlens's and TensorFlow's generated protobuf classes alike, so
scripts/make_conformance.py (TensorFlow) and tests/test_conformance_show.py (smlens) build the same
models. Expected texts: tests/data/conformance/show_na/<name>.all.txt."""
from __future__ import annotations

CALL_FN = "__inference___call___46"   # ReadVariableOp, Mul, Identity, NoOp


def _fn(sm, name: str = CALL_FN):
    return next(f for f in sm.meta_graphs[0].graph_def.library.function if f.signature.name == name)


def _node(sm, op: str, fn: str = CALL_FN):
    return next(n for n in _fn(sm, fn).node_def if n.op == op)


def custom_op(sm) -> None:
    _node(sm, "Mul").op = "MyCustomMul"


def missing_required_attr(sm) -> None:
    del _node(sm, "ReadVariableOp").attr["dtype"]


def var_handle_without_attrs(sm) -> None:
    node = _fn(sm).node_def.add()
    node.name = "stray_handle"
    node.op = "VarHandleOp"
    node.attr["shared_name"].s = b"stray"


def undefined_attr(sm) -> None:
    _node(sm, "Mul").attr["bogus"].i = 3


def private_attr(sm) -> None:   # attrs named "_..." are free: still listable
    _node(sm, "Mul").attr["_my_annotation"].i = 3


def disallowed_type(sm) -> None:
    _node(sm, "Mul").attr["T"].type = 7   # DT_STRING: Mul does not take strings


def attr_of_wrong_kind(sm) -> None:
    attr = _node(sm, "ReadVariableOp").attr["dtype"]
    attr.Clear()
    attr.s = b"float"


def unknown_op_in_main_graph(sm) -> None:   # only the function library is imported by tf.saved_model.load
    node = sm.meta_graphs[0].graph_def.node.add()
    node.name = "not_in_a_function"
    node.op = "MyCustomOp"


CASES = {f.__name__: f for f in (custom_op, missing_required_attr, var_handle_without_attrs, undefined_attr,
                                  private_attr, disallowed_type, attr_of_wrong_kind, unknown_op_in_main_graph)}
