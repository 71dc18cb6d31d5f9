"""SavedModel warmup requests: assets.extra/tf_serving_warmup_requests, a TFRecord file of PredictionLog.

TFRecord framing, per record: uint64 length (little-endian), uint32 masked CRC32C of those 8 bytes, the data,
uint32 masked CRC32C of the data. Both checksums are verified; a bad or truncated record is an error naming
the file, the record number and its offset. At most 1000 records, as TF Serving allows.

Each record is replayed as TF Serving's warmup does: predict logs run their signature on the logged tensors
(output_filter honoured), classify/regress logs on the logged tf.Examples, multi_inference logs run every
task on the shared input. `body` gives the REST equivalent of a record (predict -> columnar "inputs") so the
page can offer it as an editable example.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any


from .. import tensors
from ..errors import FormatError, InputError, NotFoundError, SmlensError
from ..formats import crc32c
from ..proto import serving_pb2
from ..sources import Source, display_path
from . import jsonio
from .request import DEFAULT_SIGNATURE, METHODS, examples_input, string_vector
from .response import classify_results, predict_response, regress_results, tensor_json

WARMUP_PATH = "assets.extra/tf_serving_warmup_requests"
MAX_RECORDS = 1000
LOG_KINDS = {"predict_log": "predict", "classify_log": "classify", "regress_log": "regress",
             "multi_inference_log": "multi_inference", "session_run_log": "session_run",
             "predict_streamed_log": "predict_streamed"}


# ------------------------------------------------------------------------------------------ TFRecord

def read_records(source: Source, path: str, max_records: int = MAX_RECORDS) -> list[bytes]:
    """Every record of a TFRecord file, CRCs checked."""
    where = display_path(source, path)
    size = source.size(path)
    out: list[bytes] = []
    offset = 0
    while offset < size:
        n = len(out)
        if n >= max_records:
            raise FormatError(f"Number of warmup records exceeds the maximum ({max_records})", where)
        if size - offset < 12:
            raise FormatError(f"record {n} at offset {offset}: truncated header ({size - offset} of 12 bytes)", where)
        head = source.read(path, offset, 12)
        length, masked = struct.unpack("<QI", head)
        if crc32c.mask(crc32c.crc32c(head[:8])) != masked:
            raise FormatError(f"record {n} at offset {offset}: corrupt length (CRC32C mismatch)", where)
        if length > size - offset - 16:
            raise FormatError(f"record {n} at offset {offset}: truncated ({length} data bytes + 4 CRC bytes "
                              f"announced, {size - offset - 12} left)", where)
        data = source.read(path, offset + 12, length)
        (masked,) = struct.unpack("<I", source.read(path, offset + 12 + length, 4))
        if crc32c.mask(crc32c.crc32c(data)) != masked:
            raise FormatError(f"record {n} at offset {offset}: corrupt data (CRC32C mismatch)", where)
        out.append(data)
        offset += 16 + length
    return out


def write_record(data: bytes) -> bytes:
    """One TFRecord frame (for tests and tools)."""
    head = struct.pack("<Q", len(data))
    return (head + struct.pack("<I", crc32c.mask(crc32c.crc32c(head))) + data
            + struct.pack("<I", crc32c.mask(crc32c.crc32c(data))))


# ------------------------------------------------------------------------------------------ records

@dataclass
class WarmupRecord:
    index: int
    kind: str                       # predict | classify | regress | multi_inference | session_run | ...
    log: serving_pb2.PredictionLog

    @property
    def request(self):
        return getattr(self.log, self.log.WhichOneof("log_type")).request

    @property
    def signature_name(self) -> str:
        if self.kind == "multi_inference":
            return ",".join(t.model_spec.signature_name or DEFAULT_SIGNATURE for t in self.request.tasks)
        if self.kind in ("predict", "classify", "regress"):
            return self.request.model_spec.signature_name or DEFAULT_SIGNATURE
        return ""

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self.log.log_metadata.saved_model_tags) or ("serve",)


def read_warmup(model) -> list[WarmupRecord]:
    """The model's warmup records ([] when it has none)."""
    source = model.source
    if WARMUP_PATH not in set(source.list()):
        return []
    out = []
    for i, data in enumerate(read_records(source, WARMUP_PATH)):
        log = serving_pb2.PredictionLog()
        try:
            log.ParseFromString(data)
        except Exception as e:  # protobuf's DecodeError and friends
            raise FormatError(f"record {i}: not a PredictionLog ({type(e).__name__}: {e})",
                              display_path(source, WARMUP_PATH)) from None
        kind = log.WhichOneof("log_type")
        if kind is None:
            raise FormatError(f"record {i}: PredictionLog has no log_type", display_path(source, WARMUP_PATH))
        out.append(WarmupRecord(i, LOG_KINDS[kind], log))
    return out


def examples_of(inp: serving_pb2.Input) -> list[bytes]:
    """Serialized tf.Examples of an Input (the context's serialization first, merged by proto rules)."""
    kind = inp.WhichOneof("kind")
    out: list[bytes] = []
    if kind == "example_list":
        out = [e.SerializeToString() for e in inp.example_list.examples]
    elif kind == "example_list_with_context":
        ctx = inp.example_list_with_context.context.SerializeToString()
        out = [ctx + e.SerializeToString() for e in inp.example_list_with_context.examples]
    if not out:
        raise InputError("Input is empty.")
    return out


def _feature_json(f) -> list:
    kind = f.WhichOneof("kind")
    if kind == "bytes_list":
        return [jsonio.bytes_value(v) for v in f.bytes_list.value]
    if kind == "float_list":
        return [jsonio.decimal(v, 32) for v in f.float_list.value]
    if kind == "int64_list":
        return [int(v) for v in f.int64_list.value]
    return []


def _example_json(ex) -> dict:
    return {k: _feature_json(ex.features.feature[k]) for k in sorted(ex.features.feature)}


def body(record: WarmupRecord) -> dict | None:
    """The REST body equivalent to a record, or None (multi_inference and session_run have none; a tensor
    of a dtype without a JSON form neither)."""
    req = record.request if record.kind in ("predict", "classify", "regress") else None
    if req is None:
        return None
    doc: dict[str, Any] = {}
    if req.model_spec.signature_name:
        doc["signature_name"] = req.model_spec.signature_name
    if record.kind == "predict":
        try:
            doc["inputs"] = {k: tensor_json(k, tensors.to_numpy(req.inputs[k], f"input {k!r}"),
                                            _dtype_of(req.inputs[k])) for k in sorted(req.inputs)}
        except SmlensError:
            return None
        return doc
    kind = req.input.WhichOneof("kind")
    if kind == "example_list_with_context":
        doc["context"] = _example_json(req.input.example_list_with_context.context)
        doc["examples"] = [_example_json(e) for e in req.input.example_list_with_context.examples]
    else:
        doc["examples"] = [_example_json(e) for e in req.input.example_list.examples]
    return doc


def _dtype_of(t):
    from ..dtypes import from_enum
    return from_enum(t.dtype)


def describe(record: WarmupRecord) -> dict:
    """A record for listings: index, kind, signature, REST body text (or null) and a one-line summary."""
    doc = body(record)
    return {"index": record.index, "kind": record.kind, "signature_name": record.signature_name,
            "tags": list(record.tags), "body": None if doc is None else jsonio.dumps(doc),
            "summary": summary(record)}


def summary(record: WarmupRecord) -> str:
    if record.kind == "predict":
        parts = [f"{k} {tensors.shape_from_proto(t.tensor_shape)}" for k, t in sorted(record.request.inputs.items())]
        return f"predict {record.signature_name}: " + ", ".join(parts)
    if record.kind in ("classify", "regress", "multi_inference"):
        inp = record.request.input
        n = len(getattr(inp, inp.WhichOneof("kind")).examples) if inp.WhichOneof("kind") else 0
        return f"{record.kind} {record.signature_name}: {n} example{'s' if n != 1 else ''}"
    return f"{record.kind} (not replayed)"


# ------------------------------------------------------------------------------------------ replay

def _signature(meta_graph, name: str):
    name = name or DEFAULT_SIGNATURE
    sig = meta_graph.signatures.get(name)
    if sig is None:
        raise NotFoundError(f'Serving signature name: "{name}" not found in signature def')
    return sig


def _run_examples(meta_graph, spec, inp, method: str) -> list:
    sig = _signature(meta_graph, spec.signature_name)
    key = examples_input(sig, method)
    serialized = examples_of(inp)
    outputs = sig(**{key: string_vector(serialized)})
    if method == "classify":
        return classify_results(outputs, sig, len(serialized))
    return regress_results(outputs, sig, len(serialized))


def replay(record: WarmupRecord, model) -> dict:
    """Run one record; the response as a REST body (predict: columnar "outputs")."""
    mg = model.meta_graph(record.tags)
    req = record.request if record.kind != "session_run" else None
    try:
        if record.kind == "predict":
            sig = _signature(mg, req.model_spec.signature_name)
            feeds = {k: tensors.to_numpy(t, f"input {k!r}") for k, t in req.inputs.items()}
            outputs = sig(**feeds)
            if req.output_filter:
                missing = [k for k in req.output_filter if k not in outputs]
                if missing:
                    raise InputError(f"output tensor alias not found in signature: {missing[0]}")
                outputs = {k: outputs[k] for k in req.output_filter}
            return predict_response(outputs, sig, "columnar")
        if record.kind in ("classify", "regress"):
            return {"results": _run_examples(mg, req.model_spec, req.input, record.kind)}
        if record.kind == "multi_inference":
            results = []
            for task in req.tasks:
                method = METHODS.get(task.method_name)
                if method not in ("classify", "regress"):
                    raise InputError(f"Unsupported signature method_name: {task.method_name}")
                results.append({"signature_name": task.model_spec.signature_name or DEFAULT_SIGNATURE,
                                "method": method,
                                "results": _run_examples(mg, task.model_spec, req.input, method)})
            return {"results": results}
    except SmlensError as e:
        raise type(e)(f"warmup record {record.index} ({record.kind} {record.signature_name}): {e}") from None
    raise InputError(f"warmup record {record.index}: {record.kind} logs are not replayed (TF Serving's "
                     "warmup replays predict, classify, regress and multi_inference logs)")

