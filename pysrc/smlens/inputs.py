"""Inputs and outputs of `smlens run`, like `saved_model_cli run`:

    --inputs 'key=file.npy;key2=file.npz[name]'    arrays from .npy/.npz files (never pickles)
    --input_exprs 'key=[[1.0, 2.0]];k2=np.ones((2, 3))'
    --input_examples 'key=[{"feature": [1.0, 2.0]}, ...]'   serialized tf.Example strings

Expressions are parsed with `ast` and interpreted, never evaluated: Python literals (numbers, strings,
bytes, lists, tuples, dicts, True/False/None), unary +/- and + - * / between numbers, and calls of
np.ones/zeros/full/arange/linspace/eye/array and np.random.rand/randn/random/uniform/normal/randint
(`numpy.` works too) with literal arguments. Anything else (names, attributes, other calls, huge
shapes) is refused with an InputError.
"""
from __future__ import annotations

import ast
import os
import re
import warnings
import zipfile
import zlib
from typing import Any, BinaryIO

import numpy as np

from .errors import InputError, NotFoundError

MAX_ELEMENTS = 1 << 26        # largest array an expression may build
MAX_EXPR_CHARS = 1 << 22
MAX_INT = 1 << 64

# ------------------------------------------------------------------------------------------ --inputs

_WITH_NAME = re.compile(r"([^=]+)=([^\[\]]+)\[([^\[\]]+)\]$")
_PLAIN = re.compile(r"([^=]+)=([^\[\]]+)$")


def parse_inputs_arg(inputs_str: str) -> dict[str, tuple[str, str | None]]:
    """'key=file[name];key2=file2' -> {key: (file, name or None)}."""
    out: dict[str, tuple[str, str | None]] = {}
    for item in filter(bool, inputs_str.split(";")):
        m = _WITH_NAME.match(item)
        if m:
            out[m.group(1)] = (m.group(2), m.group(3))
            continue
        m = _PLAIN.match(item)
        if not m:
            raise InputError(f'--inputs "{item}" format is incorrect. Please follow "<input_key>=<filename>", or '
                             '"<input_key>=<filename>[<variable_name>]"')
        out[m.group(1)] = (m.group(2), None)
    return out


def load_array_file(filename: str, name: str | None) -> np.ndarray:
    """An array from a .npy or .npz file (allow_pickle=False: a pickle file is refused)."""
    if not os.path.isfile(filename):
        raise NotFoundError("no such file", filename)
    return load_array(filename, filename, name)


def load_array(file: str | BinaryIO, filename: str, name: str | None, *, prefer: str | None = None) -> np.ndarray:
    """load_array_file of a path or an open binary file (`filename` names it in messages). `prefer`: for an
    .npz and no `name`, the array of that name if the file has one, else its only array."""
    _check_array_file(file, filename)
    try:
        data = np.load(file, allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise InputError(f"{filename}: pickled data (a pickle file, or an array of Python objects) is not "
                             "loaded for safety; save plain arrays with np.save/np.savez") from None
        raise InputError(f"{filename}: not a .npy or .npz file ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"{filename}: cannot read it as .npy or .npz ({e})") from None
    if isinstance(data, np.ndarray):
        _check_loaded_dtype(data, filename)
        if name:
            warnings.warn(f'Input file {filename} contains a single ndarray. Name key "{name}" ignored.',
                          stacklevel=3)
        return data
    with data:
        try:
            if name:
                if name not in data.files:
                    raise InputError(f'Input file {filename} does not contain variable with name "{name}".')
                return _check_loaded_dtype(data[name], f"{filename}[{name}]")
            if prefer in data.files:
                return _check_loaded_dtype(data[prefer], f"{filename}[{prefer}]")
            if len(data.files) != 1:
                if prefer:
                    raise InputError(f'Input file {filename} has arrays {data.files}, none named "{prefer}".')
                raise InputError(f"Input file {filename} contains more than one ndarrays. Please specify the name "
                                 "of ndarray to use.")
            return _check_loaded_dtype(data[data.files[0]], filename)
        except (ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise InputError(f"{filename}: {e}") from None


def _check_loaded_dtype(a: np.ndarray, filename: str) -> np.ndarray:
    if a.dtype.fields is not None or a.dtype.subdtype is not None or a.dtype.kind not in "biufcSU":
        raise InputError(f"{filename}: arrays of dtype {a.dtype} are not supported (plain numeric, bool or "
                         "string arrays only)")
    return a


def _check_array_file(file: str | BinaryIO, filename: str) -> None:
    """Before loading: every array's header (shape, dtype) must fit the allocation budget and the bytes the
    file (or zip member) actually holds, so a forged header or a zip bomb fails with a clear error."""
    from .limits import check_alloc
    f = open(file, "rb") if isinstance(file, str) else file
    start = f.tell()
    try:
        magic = f.read(6)
        f.seek(start)
        if magic == b"\x93NUMPY":
            _check_npy_header(f, filename, None)
        elif magic[:2] == b"PK":
            try:
                zf = zipfile.ZipFile(f)
            except (zipfile.BadZipFile, OSError, ValueError) as e:
                raise InputError(f"{filename}: cannot read it as .npz ({e})") from None
            with zf:
                infos = zf.infolist()
                if len(infos) > 100_000:
                    raise InputError(f"{filename}: .npz holds {len(infos)} files")
                for info in infos:
                    what = f"{filename}[{info.filename.removesuffix('.npy')}]"
                    check_alloc(info.file_size, f"{what}: uncompressed array")
                    try:
                        with zf.open(info) as member:
                            _check_npy_header(member, what, info.file_size)
                    except (zipfile.BadZipFile, OSError, zlib.error, NotImplementedError) as e:
                        raise InputError(f"{what}: cannot read it ({e})") from None
    finally:
        if isinstance(file, str):
            f.close()
        else:
            f.seek(start)


def _check_npy_header(f: BinaryIO, what: str, size: int | None) -> None:
    from numpy.lib import format as npformat

    from .limits import check_alloc
    try:
        version = npformat.read_magic(f)
        if version == (1, 0):
            shape, _fortran, dtype = npformat.read_array_header_1_0(f)
        else:
            shape, _fortran, dtype = npformat.read_array_header_2_0(f)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as e:
        raise InputError(f"{what}: not a valid .npy header ({str(e)[:200]})") from None
    n = 1
    for d in shape:
        n *= int(d)
    nbytes = n * max(dtype.itemsize, 1)
    check_alloc(nbytes, f"{what}: array of shape {list(shape)} {dtype}")
    if dtype.hasobject:
        return  # refused as pickled data by np.load
    here = f.tell()
    available = (f.seek(0, os.SEEK_END) if size is None else size) - here  # zip members: the declared size
    if nbytes > available:
        raise InputError(f"{what}: header says shape {list(shape)} of {dtype} ({nbytes} bytes) but the file holds "
                         f"only {available} bytes after it (truncated or forged)")


# ------------------------------------------------------------------------------------------ expressions

def _split_items(text: str) -> list[str]:
    """Split on ';' outside string literals (saved_model_cli splits on every ';', which breaks
    string inputs that contain one)."""
    items, start, quote, i = [], 0, "", 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == ";":
            items.append(text[start:i])
            start = i + 1
        i += 1
    items.append(text[start:])
    return items


def _split_exprs(text: str, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in filter(bool, _split_items(text)):
        if "=" not in item:
            raise InputError(f'{flag} "{item}" format is incorrect. Please follow "<input_key>=<python expression>"')
        key, expr = item.split("=", 1)
        out[key.strip()] = expr
    return out


def _dtype_arg(node: ast.AST, value: Any) -> np.dtype:
    try:
        dt = np.dtype(value)
    except TypeError:
        raise _refuse(node, "dtype must be a NumPy dtype name such as 'float32'") from None
    if dt.kind not in "biufc":
        raise _refuse(node, f"dtype {dt} is not a numeric dtype")
    return dt


def _refuse(node: ast.AST | None, why: str) -> InputError:
    where = f" (column {node.col_offset + 1})" if node is not None and hasattr(node, "col_offset") else ""
    return InputError(f"expression not allowed{where}: {why}")


def _shape(node: ast.AST, value: Any) -> tuple[int, ...]:
    dims = (value,) if isinstance(value, (int, np.integer)) else value
    if not isinstance(dims, (tuple, list)) or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                                                     for d in dims):
        raise _refuse(node, "a shape must be an int or a tuple of ints")
    dims = tuple(int(d) for d in dims)
    if any(d < 0 for d in dims):
        raise _refuse(node, f"negative dimension in shape {list(dims)}")
    _check_size(node, int(np.prod(dims, dtype=object)) if dims else 1)
    return dims


def _check_size(node: ast.AST, n: int) -> None:
    if n > MAX_ELEMENTS:
        raise _refuse(node, f"the array would have {n} elements (at most {MAX_ELEMENTS} allowed)")


def _np_call(name: str, node: ast.Call, args: list, kwargs: dict) -> np.ndarray:
    def arg(i: int, key: str, default: Any = None, required: bool = False):
        if i < len(args):
            return args[i]
        if key in kwargs:
            return kwargs[key]
        if required:
            raise _refuse(node, f"np.{name} needs argument {key!r}")
        return default

    allowed = _NP_FUNCS[name]
    extra = set(kwargs) - set(allowed)
    if extra or len(args) > len(allowed) and name not in ("random.rand", "random.randn"):
        raise _refuse(node, f"unsupported arguments for np.{name}")
    dtype = _dtype_arg(node, kwargs["dtype"]) if kwargs.get("dtype") is not None else None
    rng = np.random.default_rng()
    if name in ("ones", "zeros"):
        shape = _shape(node, arg(0, "shape", required=True))
        return (np.ones if name == "ones" else np.zeros)(shape, dtype=dtype or np.float64)
    if name == "full":
        shape = _shape(node, arg(0, "shape", required=True))
        return np.full(shape, _number(node, arg(1, "fill_value", required=True)), dtype=dtype)
    if name == "arange":
        start, stop, step = arg(0, "start", required=True), arg(1, "stop"), arg(2, "step", 1)
        if stop is None:
            start, stop = 0, start
        for v in (start, stop, step):
            _number(node, v)
        if step == 0:
            raise _refuse(node, "np.arange step must not be zero")
        count = (stop - start) / step
        if not np.isfinite(count):
            raise _refuse(node, "np.arange bounds must be finite numbers")
        _check_size(node, max(0, int(np.ceil(count))))
        return np.arange(start, stop, step, dtype=dtype)
    if name == "linspace":
        start, stop = _number(node, arg(0, "start", required=True)), _number(node, arg(1, "stop", required=True))
        num = arg(2, "num", 50)
        if not isinstance(num, int) or num < 0:
            raise _refuse(node, "np.linspace num must be a non-negative int")
        _check_size(node, num)
        return np.linspace(start, stop, num, dtype=dtype)
    if name == "eye":
        n, m = arg(0, "N", required=True), arg(1, "M")
        _shape(node, (n, n if m is None else m))
        return np.eye(n, m, dtype=dtype or np.float64)
    if name == "array":
        value = arg(0, "object", required=True)
        return _literal_array(node, value, dtype)
    if name == "random.rand":
        return rng.random(_shape(node, tuple(args)))
    if name == "random.randn":
        return rng.standard_normal(_shape(node, tuple(args)))
    if name == "random.random":
        size = arg(0, "size")
        return np.asarray(rng.random() if size is None else rng.random(_shape(node, size)))
    if name == "random.uniform":
        lo, hi, size = _number(node, arg(0, "low", 0.0)), _number(node, arg(1, "high", 1.0)), arg(2, "size")
        return np.asarray(rng.uniform(lo, hi, None if size is None else _shape(node, size)))
    if name == "random.normal":
        loc, scale, size = _number(node, arg(0, "loc", 0.0)), _number(node, arg(1, "scale", 1.0)), arg(2, "size")
        return np.asarray(rng.normal(loc, scale, None if size is None else _shape(node, size)))
    if name == "random.randint":
        low, high, size = arg(0, "low", required=True), arg(1, "high"), arg(2, "size")
        if high is None:
            low, high = 0, low
        if not all(isinstance(v, int) for v in (low, high)) or low >= high:
            raise _refuse(node, "np.random.randint needs ints low < high")
        out = rng.integers(low, high, None if size is None else _shape(node, size), dtype=dtype or np.int64)
        return np.asarray(out)
    raise _refuse(node, f"np.{name} is not supported")


_NP_FUNCS = {
    "ones": ("shape", "dtype"), "zeros": ("shape", "dtype"), "full": ("shape", "fill_value", "dtype"),
    "arange": ("start", "stop", "step", "dtype"), "linspace": ("start", "stop", "num", "dtype"),
    "eye": ("N", "M", "dtype"), "array": ("object", "dtype"),
    "random.rand": (), "random.randn": (), "random.random": ("size",), "random.uniform": ("low", "high", "size"),
    "random.normal": ("loc", "scale", "size"), "random.randint": ("low", "high", "size", "dtype"),
}
_NP_DTYPES = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
              "uint64", "bool_", "complex64", "complex128", "double", "half", "single"}


def _number(node: ast.AST, v: Any):
    if isinstance(v, bool) or not isinstance(v, (int, float, complex, np.number)):
        raise _refuse(node, f"expected a number, got {type(v).__name__}")
    return v


def _literal_array(node: ast.AST, value: Any, dtype: np.dtype | None) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=dtype)
    except (ValueError, TypeError) as e:
        raise _refuse(node, f"not a rectangular array of numbers ({e})") from None
    if arr.dtype == object:
        raise _refuse(node, "not a rectangular array of numbers")
    return arr


class _Interpreter:
    """Interprets the small expression language; counts elements so nothing huge is built."""

    def __init__(self, allow_numpy: bool = True):
        self.allow_numpy = allow_numpy
        self.elements = 0

    def __call__(self, node: ast.AST) -> Any:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise _refuse(node, f"{type(node).__name__} is not allowed (only literals and np.* constructors)")
        return method(node)

    def _count(self, node: ast.AST, n: int) -> None:
        self.elements += n
        _check_size(node, self.elements)

    def _Expression(self, node):
        return self(node.body)

    def _Constant(self, node):
        v = node.value
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= MAX_INT:
            raise _refuse(node, "integer literal too large")
        if v is Ellipsis:
            raise _refuse(node, "... is not a value")
        self._count(node, 1)
        return v

    def _List(self, node):
        return [self(e) for e in node.elts]

    def _Tuple(self, node):
        return tuple(self(e) for e in node.elts)

    def _Dict(self, node):
        if any(k is None for k in node.keys):
            raise _refuse(node, "** in a dict is not allowed")
        keys = [self(k) for k in node.keys]
        if not all(isinstance(k, (str, bytes, int, float, bool)) for k in keys):
            raise _refuse(node, "dict keys must be literals")
        return dict(zip(keys, (self(v) for v in node.values)))

    def _UnaryOp(self, node):
        v = self(node.operand)
        if isinstance(node.op, (ast.USub, ast.UAdd)) and isinstance(v, (int, float, complex)) \
                and not isinstance(v, bool):
            return -v if isinstance(node.op, ast.USub) else v
        raise _refuse(node, "only + and - apply to numbers")

    def _BinOp(self, node):
        a, b = self(node.left), self(node.right)
        ops = {ast.Add: lambda x, y: x + y, ast.Sub: lambda x, y: x - y, ast.Mult: lambda x, y: x * y,
               ast.Div: lambda x, y: x / y}
        fn = ops.get(type(node.op))
        if fn is None or not all(isinstance(v, (int, float, complex)) and not isinstance(v, bool) for v in (a, b)):
            raise _refuse(node, "only + - * / between two numbers are allowed")
        try:
            r = fn(a, b)
        except ZeroDivisionError:
            raise _refuse(node, "division by zero") from None
        if isinstance(r, int) and abs(r) >= MAX_INT:
            raise _refuse(node, "integer result too large")
        return r

    def _Attribute(self, node):
        path = _dotted(node)
        if self.allow_numpy and path and path[0] in ("np", "numpy") and len(path) == 2 and path[1] in _NP_DTYPES:
            return np.dtype(path[1].rstrip("_"))
        raise _refuse(node, f"attribute access {'.'.join(path) if path else ''!s} is not allowed")

    def _Name(self, node):
        raise _refuse(node, f"name {node.id!r} is not allowed")

    def _Call(self, node):
        path = _dotted(node.func)
        if not self.allow_numpy or not path or path[0] not in ("np", "numpy") or len(path) not in (2, 3):
            raise _refuse(node, "only calls of np.* array constructors are allowed")
        name = ".".join(path[1:])
        if name not in _NP_FUNCS:
            raise _refuse(node, f"np.{name} is not one of the allowed functions "
                                f"({', '.join('np.' + n for n in _NP_FUNCS)})")
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise _refuse(node, "* and ** arguments are not allowed")
        args = [self(a) for a in node.args]
        kwargs = {k.arg: self(k.value) for k in node.keywords}
        out = _np_call(name, node, args, kwargs)
        self._count(node, out.size)
        return out


def _dotted(node: ast.AST) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def parse_expression(expr: str, allow_numpy: bool = True) -> Any:
    """The value of one --input_exprs / --input_examples expression (see the module doc)."""
    if len(expr) > MAX_EXPR_CHARS:
        raise InputError(f"expression too long ({len(expr)} characters)")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as e:
        shown = expr if len(expr) <= 80 else expr[:77] + "..."
        raise InputError(f'Expression "{shown}" is not a valid python expression: {e.msg}') from None
    except (RecursionError, MemoryError, ValueError):
        raise InputError("expression is too deeply nested or invalid") from None
    try:
        return _Interpreter(allow_numpy)(tree)
    except RecursionError:
        raise InputError("expression is too deeply nested") from None


def as_input_array(key: str, value: Any) -> np.ndarray:
    """A literal value (nested lists of numbers, bools or strings) as an array; strings as object arrays of
    UTF-8 bytes."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, dict):
        raise InputError(f"input {key!r}: a dict is not a tensor value")
    objects = np.asarray(value, dtype=object)  # never via NumPy 'S': it drops trailing NUL bytes
    flat = objects.reshape(-1)
    if flat.size and any(isinstance(x, (bytes, str)) for x in flat):
        if not all(isinstance(x, (bytes, str)) for x in flat):
            raise InputError(f"input {key!r}: nested lists are not rectangular or mix strings with numbers")
        out = np.empty(objects.shape, dtype=object)
        out.reshape(-1)[:] = [x.encode("utf-8") if isinstance(x, str) else x for x in flat]
        return out
    try:
        return np.asarray(value)
    except ValueError:
        raise InputError(f"input {key!r}: nested lists are not rectangular") from None


def parse_input_exprs(text: str) -> dict[str, np.ndarray]:
    return {k: as_input_array(k, parse_expression(e)) for k, e in _split_exprs(text, "--input_exprs").items()}


def parse_input_examples(text: str) -> dict[str, np.ndarray]:
    from .kernels.parsing_ops import examples_from_dicts
    out = {}
    for key, expr in _split_exprs(text, "--input_examples").items():
        value = parse_expression(expr, allow_numpy=False)
        if not isinstance(value, list):
            raise InputError(f'tf.Example input must be a list of dictionaries, but "{value}" is '
                             f"{type(value).__name__}")
        serialized = examples_from_dicts(value)
        arr = np.empty(len(serialized), dtype=object)
        arr[:] = serialized
        out[key] = arr
    return out


def parse_inputs(inputs_str: str, input_exprs_str: str, input_examples_str: str) -> dict[str, np.ndarray]:
    """All three flags -> {input key: array}. Later flags win for a key given twice (a warning says so)."""
    feeds: dict[str, np.ndarray] = {}
    for key, (filename, name) in parse_inputs_arg(inputs_str or "").items():
        feeds[key] = load_array_file(filename, name)
    for flag, values in (("--input_exprs", parse_input_exprs(input_exprs_str or "")),
                         ("--input_examples", parse_input_examples(input_examples_str or ""))):
        for key, v in values.items():
            if key in feeds:
                warnings.warn(f"input_key {key} has been specified more than once; the value from {flag} is used.",
                              stacklevel=2)
            feeds[key] = v
    return feeds


# ------------------------------------------------------------------------------------------ outputs

def format_run_output(results: dict, signature=None, saved: dict[str, str] | None = None) -> str:
    """What `saved_model_cli run` prints: each output (sorted by key) as 'Result for output key K:' and the
    array as print() shows it; with `saved` (from save_outputs), the 'Output K is saved to PATH' lines."""
    lines = []
    for key in sorted(results):
        value = results[key]
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]  # TensorFlow's session returns scalars as NumPy scalars, which print shorter
        lines.append(f"Result for output key {key}:\n" + str(value))
        if saved and key in saved:
            lines.append(f"Output {key} is saved to {saved[key]}")
    return "\n".join(lines) + ("\n" if lines else "")


def save_outputs(results: dict, outdir: str, overwrite: bool = False) -> dict[str, str]:
    """Write every output into `outdir`, named by filenames.output_file_name (a key that is not a safe file
    name gets a sanitised name with a hash: nothing is ever written outside `outdir`, nor through a
    symlink); refuses to replace a file unless `overwrite`.
    String outputs are object arrays of bytes, saved as TensorFlow's saved_model_cli saves them (NumPy pickles
    object arrays; load with allow_pickle=True). A fixed-width 'S' array would silently drop trailing NULs."""
    from .filenames import open_new_file, output_paths
    paths = output_paths(sorted(results), outdir)
    if not overwrite:
        for path in paths.values():
            if os.path.lexists(path):
                raise InputError(f'Output file {path} already exists. Add "--overwrite" to overwrite the existing '
                                 "output files.")
    os.makedirs(outdir, exist_ok=True)
    for key, path in paths.items():
        value = results[key]
        if value is None:
            continue
        arr = np.asarray(value)
        if os.path.islink(path):
            raise InputError(f"Output file {path} is a symbolic link: not written through")
        try:
            with open_new_file(path, overwrite) as f:
                np.save(f, arr, allow_pickle=arr.dtype == object)
        except OSError as e:
            raise InputError(f"cannot write output {key!r} to {path}: {e.strerror or e}") from None
    return {k: p for k, p in paths.items() if results[k] is not None}
