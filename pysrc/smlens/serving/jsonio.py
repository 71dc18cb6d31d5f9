"""TF Serving's JSON dialect: NaN/Infinity tokens, float formatting, {"b64": ...} for bytes.

Parsing accepts `NaN`, `Infinity` and `-Infinity` (TF Serving parses with rapidjson's kParseNanAndInfFlag).
Writing formats float32/float64 as TF Serving does: "%.6g" when that reads back to the same value, else
full precision ("%.9g" / "%.17g"), ".0" appended to whole numbers without an exponent, and NaN/Infinity
as bare tokens (so a response is JavaScript-, Python- and proto3-JSON readable, not strict RFC 8259).
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import numpy as np

from ..errors import InputError

MAX_DEPTH = 64          # nesting accepted in a request body (tensors of rank <= ~60)


class Raw(str):
    """A JSON number token written verbatim (already formatted)."""


def decimal(value: float, bits: int = 32) -> Raw:
    """One float as TF Serving writes it (WriteDecimal in json_tensor.cc)."""
    v = float(value)
    if v != v:
        return Raw("NaN")
    if v in (float("inf"), float("-inf")):
        return Raw("Infinity" if v > 0 else "-Infinity")
    text = "%.6g" % v
    back = float(np.float32(float(text))) if bits == 32 else float(text)
    if back != v:
        text = "%.9g" % v if bits == 32 else "%.17g" % v
    if "." not in text and "e" not in text:
        text += ".0"
    return Raw(text)


def decimals(a: np.ndarray, bits: int = 32) -> list:
    """jsonio.decimal of every element (flattened), vectorised where NumPy can: "%.6g" texts are parsed back
    in one go and only the elements that do not round-trip are formatted again at full precision."""
    flat = np.asarray(a, dtype=np.float64).reshape(-1)
    values = flat.tolist()
    texts = ["%.6g" % v for v in values]
    back = np.array(texts, dtype=np.float64) if texts else flat
    if bits == 32:
        back = back.astype(np.float32).astype(np.float64)
    finite = np.isfinite(flat)
    full = "%.9g" if bits == 32 else "%.17g"
    for i in np.flatnonzero(finite & (back != flat)).tolist():
        texts[i] = full % values[i]
    for i in np.flatnonzero(~finite).tolist():
        texts[i] = "NaN" if values[i] != values[i] else ("Infinity" if values[i] > 0 else "-Infinity")
    return [Raw(t if ("." in t or "e" in t or "N" in t or "I" in t) else t + ".0") for t in texts]


def bytes_value(b: bytes, force_b64: bool = False) -> Any:
    """A DT_STRING element: text when it is UTF-8 (and not forced), else {"b64": ...}."""
    if not force_b64:
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return {"b64": base64.b64encode(b).decode("ascii")}


def is_b64_object(v: Any) -> bool:
    """{"b64": "<string>"} and nothing else (IsValBase64Object)."""
    return isinstance(v, dict) and len(v) == 1 and isinstance(v.get("b64"), str)


def decode_b64(v: Any) -> bytes:
    if not is_b64_object(v):
        raise InputError(f"JSON Value: {compact(v)} not formatted correctly for base64 data")
    s = v["b64"].strip()
    try:  # padding is optional, as for absl::Base64Unescape
        return base64.b64decode((s + "=" * (-len(s) % 4)).encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InputError("Unable to base64 decode") from None


def json_type(v: Any) -> str:
    """rapidjson's type names, as TF Serving's messages use them."""
    if v is None:
        return "Null"
    if v is True:
        return "True"
    if v is False:
        return "False"
    if isinstance(v, dict):
        return "Object"
    if isinstance(v, list):
        return "Array"
    if isinstance(v, str):
        return "String"
    return "Number"


def loads(text: str | bytes) -> dict:
    """A request body: a JSON object (NaN/Infinity allowed). Errors as TF Serving words them."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"JSON Parse error: Invalid encoding in string. at offset: {e.start}") from None
    if not text.strip():
        raise InputError("JSON Parse error: The document is empty")
    if text_depth(text) > MAX_DEPTH:  # before parsing: deep nesting overflows the parser's stack (Pyodide: fatal)
        raise InputError(f"JSON Parse error: nested deeper than {MAX_DEPTH} levels")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"JSON Parse error: {e.msg} at offset: {e.pos}") from None
    except RecursionError:
        raise InputError("JSON Parse error: the document is nested too deeply") from None
    check_depth(doc)
    if not isinstance(doc, dict):
        raise InputError(f"JSON Value: {compact(doc)} Is not object")
    return doc


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


_NESTING = np.zeros(256, np.int8)
_NESTING[[0x5B, 0x7B]], _NESTING[[0x5D, 0x7D]] = 1, -1


def text_depth(text: str) -> int:
    """Deepest [ / { nesting of a JSON text (strings skipped), without parsing it."""
    if '"' in text:
        text = _STRING.sub("", text)
    step = _NESTING[np.frombuffer(text.encode("utf-8", "surrogatepass"), np.uint8)]
    return int(np.cumsum(step, dtype=np.int32).max()) if step.size else 0


def check_depth(doc: Any) -> None:
    stack = [(doc, 0)]
    while stack:
        v, d = stack.pop()
        if d > MAX_DEPTH:
            raise InputError(f"JSON Parse error: nested deeper than {MAX_DEPTH} levels")
        if isinstance(v, list):
            stack.extend((x, d + 1) for x in v if isinstance(x, (list, dict)))
        elif isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values() if isinstance(x, (list, dict)))


def compact(v: Any, limit: int = 200) -> str:
    """A JSON value on one line, shortened for error messages."""
    try:
        text = json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(v)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def dumps(value: Any, indent: int = 4) -> str:
    """Response text: objects one key per line, arrays of values on one line (rapidjson PrettyWriter with
    kFormatSingleLineArray, as TF Serving writes them)."""
    out: list[str] = []
    _write(value, out, 0, indent)
    return "".join(out)


def _scalar(v: Any) -> str:
    if isinstance(v, Raw):
        return str(v)
    if v is None or isinstance(v, (bool, str)):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, float):
        return decimal(v, 64)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    raise TypeError(f"not a JSON value: {type(v).__name__}")


def _inline(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_inline(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {_inline(x)}" for k, x in v.items()) + "}"
    return _scalar(v)


def _has_object(v: Any) -> bool:
    return any(isinstance(x, dict) and not is_b64_object(x) for x in v)


def _write(v: Any, out: list[str], level: int, indent: int) -> None:
    pad, inner = " " * (indent * level), " " * (indent * (level + 1))
    if isinstance(v, dict) and not is_b64_object(v):
        if not v:
            out.append("{}")
            return
        out.append("{\n")
        for i, (k, x) in enumerate(v.items()):
            out.append(f"{inner}{json.dumps(str(k), ensure_ascii=False)}: ")
            _write(x, out, level + 1, indent)
            out.append(",\n" if i < len(v) - 1 else "\n")
        out.append(pad + "}")
    elif isinstance(v, list) and v and _has_object(v):
        out.append("[\n")
        for i, x in enumerate(v):
            out.append(inner)
            _write(x, out, level + 1, indent)
            out.append(",\n" if i < len(v) - 1 else "\n")
        out.append(pad + "]")
    else:
        out.append(_inline(v))
