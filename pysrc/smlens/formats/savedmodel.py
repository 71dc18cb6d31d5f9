"""saved_model.pb / saved_model.pbtxt, fingerprint.pb, `.meta` MetaGraphDefs, frozen GraphDef `.pb`."""
from __future__ import annotations

from google.protobuf import message, text_format

from ..errors import FormatError
from ..proto import checkpoint_pb2, graph_pb2, saved_model_pb2
from ..sources import Source, display_path

# Parsing a protobuf costs a small multiple of its size; refuse absurd inputs up front.
MAX_PROTO_BYTES = 2 << 30


def read_bounded(source: Source, path: str) -> tuple[bytes, str]:
    shown = display_path(source, path)
    size = source.size(path)
    if size == 0:
        raise FormatError("empty file", shown)
    if size > MAX_PROTO_BYTES:
        raise FormatError(f"file too large for a protobuf ({size} bytes)", shown)
    return source.read(path), shown


def _parse_binary(cls, data: bytes, shown: str, what: str):
    msg = cls()
    try:
        msg.ParseFromString(data)
    except (message.DecodeError, ValueError, RecursionError) as e:
        raise FormatError(f"not a valid {what} (truncated or corrupt protobuf: {e})", shown) from None
    return msg


def _parse(cls, path: str, data: bytes, shown: str, what: str):
    """Binary protobuf, or text format for `.pbtxt`."""
    if not path.endswith(".pbtxt"):
        return _parse_binary(cls, data, shown, what)
    return parse_text(cls, data, shown, what)


def parse_text(cls, data: bytes, shown: str, what: str):
    msg = cls()
    try:
        text_format.Parse(data.decode("utf-8"), msg, allow_unknown_field=True)
    except (text_format.ParseError, UnicodeDecodeError) as e:
        raise FormatError(f"not a valid {what} text proto: {e}", shown) from None
    except RecursionError:
        raise FormatError(f"not a valid {what} text proto: messages nested too deeply", shown) from None
    return msg


def read_saved_model(source: Source, path: str) -> saved_model_pb2.SavedModel:
    data, shown = read_bounded(source, path)
    msg = _parse(saved_model_pb2.SavedModel, path, data, shown, "SavedModel")
    if not msg.meta_graphs:
        raise FormatError("not a SavedModel: it holds no MetaGraphDef", shown)
    for mg in msg.meta_graphs:
        if not mg.HasField("graph_def") and not mg.signature_def:
            raise FormatError("not a SavedModel: a MetaGraphDef has neither graph nor signatures", shown)
    return msg


def read_meta_graph(source: Source, path: str) -> saved_model_pb2.MetaGraphDef:
    data, shown = read_bounded(source, path)
    msg = _parse_binary(saved_model_pb2.MetaGraphDef, data, shown, "MetaGraphDef")
    if not msg.HasField("graph_def"):
        raise FormatError("not a MetaGraphDef: no graph_def", shown)
    return msg


def read_graph_def(source: Source, path: str) -> graph_pb2.GraphDef:
    data, shown = read_bounded(source, path)
    msg = _parse(graph_pb2.GraphDef, path, data, shown, "GraphDef")
    if not msg.node and not msg.library.function:
        raise FormatError("not a GraphDef: no nodes", shown)
    for n in msg.node:
        if not n.name or not n.op:
            raise FormatError("not a GraphDef: a node without name or op", shown)
    return msg


def read_fingerprint(source: Source, path: str) -> checkpoint_pb2.FingerprintDef:
    data, shown = read_bounded(source, path)
    return _parse_binary(checkpoint_pb2.FingerprintDef, data, shown, "fingerprint")
