"""Write pysrc/smlens/data/tf_ops.json.gz: every op TensorFlow registers (its OpDef) as compact data.

    python scripts/make_op_table.py [--tf-python PATH]      (default: $SMLENS_TF_PYTHON)

A development tool, not run by CI. This script needs no TensorFlow itself: it runs the given
TensorFlow interpreter (2.21) to dump the op registry (TF_GetAllOpList after `import tensorflow`, the
registry saved_model_cli sees) and the first line of each `tf.raw_ops` docstring as the op summary,
then encodes it (format: smlens/opdefs_tf.py).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "pysrc" / "smlens" / "data" / "tf_ops.json.gz"

_DUMP = r'''
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
from tensorflow.python.client import pywrap_tf_session as c_api
from tensorflow.core.framework import op_def_pb2
from google.protobuf import json_format
ops = op_def_pb2.OpList()
ops.ParseFromString(c_api.TF_GetBuffer(c_api.TF_GetAllOpList()))
summaries = {}
for name in dir(tf.raw_ops):
    doc = getattr(getattr(tf.raw_ops, name), "__doc__", None) or ""
    line = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    if line:
        summaries[name] = line
json.dump({"version": tf.__version__,
           "ops": [json_format.MessageToDict(o, preserving_proto_field_name=True) for o in ops.op],
           "summaries": summaries}, sys.stdout)
'''

_DTYPE = {  # DataType enum name -> smlens/TF dtype name
    "DT_FLOAT": "float32", "DT_DOUBLE": "float64", "DT_HALF": "float16", "DT_BFLOAT16": "bfloat16",
    "DT_INT8": "int8", "DT_INT16": "int16", "DT_INT32": "int32", "DT_INT64": "int64", "DT_UINT8": "uint8",
    "DT_UINT16": "uint16", "DT_UINT32": "uint32", "DT_UINT64": "uint64", "DT_BOOL": "bool", "DT_STRING": "string",
    "DT_COMPLEX64": "complex64", "DT_COMPLEX128": "complex128", "DT_QINT8": "qint8", "DT_QUINT8": "quint8",
    "DT_QINT16": "qint16", "DT_QUINT16": "quint16", "DT_QINT32": "qint32", "DT_RESOURCE": "resource",
    "DT_VARIANT": "variant", "DT_FLOAT8_E5M2": "float8_e5m2", "DT_FLOAT8_E4M3FN": "float8_e4m3fn",
    "DT_FLOAT8_E4M3FNUZ": "float8_e4m3fnuz", "DT_FLOAT8_E4M3B11FNUZ": "float8_e4m3b11fnuz",
    "DT_FLOAT8_E5M2FNUZ": "float8_e5m2fnuz", "DT_INT4": "int4", "DT_UINT4": "uint4", "DT_INT2": "int2",
    "DT_UINT2": "uint2", "DT_INVALID": "invalid",
}


def _dtype(name: str) -> str:
    if name not in _DTYPE:
        raise SystemExit(f"unknown DataType {name}: extend _DTYPE")
    return _DTYPE[name]


def _arg(a: dict) -> str:
    if "type_list_attr" in a:
        t = "@" + a["type_list_attr"]
    else:
        t = "$" + a["type_attr"] if "type_attr" in a else _dtype(a.get("type", "DT_INVALID"))
        if "number_attr" in a:
            t = a["number_attr"] + "*" + t
    return ("&" if a.get("is_ref") else "") + a["name"] + ":" + t


def _shape(s: dict):
    if s.get("unknown_rank"):
        return None
    return [int(d.get("size", 0)) for d in s.get("dim", [])]


def _value(v: dict, attr_type: str):
    """An AttrValue (JSON form) as plain JSON, decoded by the attr's type."""
    base = attr_type[5:-1] if attr_type.startswith("list(") else attr_type
    if attr_type.startswith("list("):
        lst = v.get("list", {})
        key = {"string": "s", "int": "i", "float": "f", "bool": "b", "type": "type", "shape": "shape",
               "tensor": "tensor", "func": "func"}[base]
        return [_scalar(x, base) for x in lst.get(key, [])]
    key = {"string": "s", "int": "i", "float": "f", "bool": "b", "type": "type", "shape": "shape",
           "tensor": "tensor", "func": "func"}[base]
    if key not in v:  # proto3 default value omitted by MessageToDict
        return {"s": "", "i": 0, "f": 0.0, "b": False}.get(key)
    return _scalar(v[key], base)


def _scalar(x, base: str):
    if base == "string":
        import base64
        return base64.b64decode(x).decode("utf-8")
    if base == "int":
        return int(x)
    if base == "float":
        return x if isinstance(x, str) else float(x)  # "inf"/"-inf"/"NaN" stay strings
    if base == "type":
        return _dtype(x)
    if base == "shape":
        return _shape(x)
    if base == "func":
        return x.get("name", "")
    return x  # tensor: its JSON form


def encode(dump: dict) -> dict:
    ops = {}
    for o in dump["ops"]:
        attrs = []
        for a in o.get("attr", []):
            entry = {"n": a["name"], "t": a["type"]}
            if "default_value" in a:
                entry["d"] = _value(a["default_value"], a["type"])
            if "allowed_values" in a:
                entry["v"] = _value(a["allowed_values"], "list(" + a["type"].removeprefix("list(").rstrip(")") + ")")
            if a.get("has_minimum"):
                entry["m"] = int(a.get("minimum", 0))
            attrs.append(entry)
        rec = {"i": [_arg(a) for a in o.get("input_arg", [])], "o": [_arg(a) for a in o.get("output_arg", [])]}
        if attrs:
            rec["a"] = attrs
        if o.get("is_stateful"):
            rec["s"] = 1
        summary = dump["summaries"].get(o["name"])
        if summary:
            rec["d"] = summary
        ops[o["name"]] = rec
    return {"tensorflow": dump["version"], "ops": ops}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tf-python", default=os.environ.get("SMLENS_TF_PYTHON"),
                    help="a Python interpreter with TensorFlow installed (default: $SMLENS_TF_PYTHON)")
    args = ap.parse_args(argv)
    if not args.tf_python:
        ap.error("give --tf-python or set SMLENS_TF_PYTHON")
    raw = subprocess.run([args.tf_python, "-c", _DUMP], check=True, capture_output=True, text=True).stdout
    table = encode(json.loads(raw))
    text = json.dumps(table, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))
    print(f"{OUT.relative_to(ROOT)}: {len(table['ops'])} ops of TensorFlow {table['tensorflow']}, "
          f"{len(text) / 1024:.0f} KiB JSON, {OUT.stat().st_size / 1024:.0f} KiB gzip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
