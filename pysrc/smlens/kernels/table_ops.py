"""Lookup tables: HashTable(V2) (initialized once, from tensors or from a text file in the model's assets/),
MutableHashTable(V2), MutableHashTableOfTensors(V2), MutableDenseHashTable(V2), and the LookupTable* ops.

Tables are runtime resources shared by (container, shared_name); a table handle is a 0-d object array.
Text files are read through the runtime, which only serves files from the model's assets/.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import ExecutionError
from ..runtime.resources import handle, resource_of
from .registry import REQUIRED, op

LINE_NUMBER, WHOLE_LINE = -1, -2


class Table:
    """Keys (Python scalars: bytes/int/float/bool) -> values (scalars, or arrays of value_shape)."""

    def __init__(self, name: str, key_dtype: dtypes.DType, value_dtype: dtypes.DType, mutable: bool,
                 value_shape: tuple = ()):
        self.name = name
        self.key_dtype = key_dtype
        self.value_dtype = value_dtype
        self.mutable = mutable
        self.value_shape = tuple(value_shape or ())
        self.data: dict = {}
        self.initialized = mutable

    def _keys(self, keys, what: str) -> list:
        a = np.asarray(keys)
        if self.key_dtype.name == "string":
            if a.dtype != object and a.dtype.kind not in "SU":
                raise ExecutionError(f"{what}: table {self.name!r} has string keys, got {a.dtype}")
        elif a.dtype != self.key_dtype.np:
            raise ExecutionError(f"{what}: table {self.name!r} has {self.key_dtype.name} keys, got {a.dtype}")
        return a.reshape(-1).tolist()

    def _value_rows(self, values, n: int, what: str) -> list:
        v = np.asarray(values)
        want = (n,) + self.value_shape
        if v.size != int(np.prod(want)):
            raise ExecutionError(f"{what}: expected {n} values of shape {list(self.value_shape)}, got shape "
                                 f"{list(v.shape)}")
        v = v.reshape(want)
        return [v[i] for i in range(n)] if self.value_shape else v.tolist()

    def insert(self, keys, values, what: str, strict: bool = False) -> None:
        ks = self._keys(keys, what)
        vs = self._value_rows(values, len(ks), what)
        for k, v in zip(ks, vs):
            if strict and k in self.data and not np.array_equal(self.data[k], v):
                raise ExecutionError(f"{what}: HashTable has different value for same key. Key {_show(k)} has "
                                     f"{_show(self.data[k])} and trying to add value {_show(v)}")
            self.data[k] = v

    def find(self, keys, default) -> np.ndarray:
        a = np.asarray(keys)
        ks = self._keys(a, "LookupTableFind")
        dflt = np.asarray(default)
        out_dtype = self.value_dtype.np
        if self.value_shape:
            if dflt.shape != self.value_shape and dflt.size != 1:
                raise ExecutionError(f"LookupTableFind: default value must have shape {list(self.value_shape)}, "
                                     f"got {list(dflt.shape)}")
            dflt = np.broadcast_to(dflt, self.value_shape)
            out = np.empty((len(ks),) + self.value_shape, dtype=out_dtype)
            for i, k in enumerate(ks):
                out[i] = self.data.get(k, dflt)
            return out.reshape(a.shape + self.value_shape)
        if dflt.size != 1:
            raise ExecutionError(f"LookupTableFind: default value must be a scalar, got shape {list(dflt.shape)}")
        d = dflt.reshape(-1)[0]
        get = self.data.get
        out = np.array([get(k, d) for k in ks], dtype=out_dtype) if ks else np.empty(0, dtype=out_dtype)
        return out.reshape(a.shape)

    def export(self) -> tuple[np.ndarray, np.ndarray]:
        ks = list(self.data)
        keys = _array(ks, self.key_dtype, (len(ks),))
        if self.value_shape:
            vals = np.array([self.data[k] for k in ks], dtype=self.value_dtype.np).reshape(
                (len(ks),) + self.value_shape)
        else:
            vals = _array([self.data[k] for k in ks], self.value_dtype, (len(ks),))
        return keys, vals


def _array(items: list, dt: dtypes.DType, shape) -> np.ndarray:
    if dt.name == "string":
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out.reshape(shape)
    return np.array(items, dtype=dt.np).reshape(shape)


def _show(x) -> str:
    return x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)


def _table(h, what: str) -> Table:
    return resource_of(h, Table, what)


def _create(ctx, shared_name: str, use_node_name_sharing: bool, make) -> np.ndarray:
    # Without a shared_name, TensorFlow keeps one table per node (its kernel outlives session runs).
    name = shared_name or (ctx.node_name if use_node_name_sharing else f"_node_{ctx.node_name}")
    return handle(ctx.runtime.resources.get_or_create("table", "", name, lambda: make(name)))


# --------------------------------------------------------------------------- table creation

@op("HashTable", "HashTableV2", inputs=[], attrs={"container": "", "shared_name": "", "use_node_name_sharing": False,
                                                   "key_dtype": REQUIRED, "value_dtype": REQUIRED},
    ctx=True, stateful=True)
def hash_table(ctx, *, container, shared_name, use_node_name_sharing, key_dtype, value_dtype):
    return _create(ctx, shared_name, use_node_name_sharing, lambda n: Table(n, key_dtype, value_dtype, False))


@op("MutableHashTable", "MutableHashTableV2", inputs=[],
    attrs={"container": "", "shared_name": "", "use_node_name_sharing": False, "key_dtype": REQUIRED,
           "value_dtype": REQUIRED}, ctx=True, stateful=True)
def mutable_hash_table(ctx, *, container, shared_name, use_node_name_sharing, key_dtype, value_dtype):
    return _create(ctx, shared_name, use_node_name_sharing, lambda n: Table(n, key_dtype, value_dtype, True))


@op("MutableHashTableOfTensors", "MutableHashTableOfTensorsV2", inputs=[],
    attrs={"container": "", "shared_name": "", "use_node_name_sharing": False, "key_dtype": REQUIRED,
           "value_dtype": REQUIRED, "value_shape": ()}, ctx=True, stateful=True)
def mutable_hash_table_of_tensors(ctx, *, container, shared_name, use_node_name_sharing, key_dtype, value_dtype,
                                  value_shape):
    return _create(ctx, shared_name, use_node_name_sharing,
                   lambda n: Table(n, key_dtype, value_dtype, True, value_shape or ()))


@op("MutableDenseHashTable", inputs=["empty_key"],
    attrs={"container": "", "shared_name": "", "use_node_name_sharing": False, "key_dtype": REQUIRED,
           "value_dtype": REQUIRED, "value_shape": ()}, ctx=True, stateful=True)
def mutable_dense_hash_table_v1(ctx, empty_key, *, container, shared_name, use_node_name_sharing, key_dtype,
                                value_dtype, value_shape):
    """The V1 op has no deleted_key (it cannot remove keys)."""
    return mutable_dense_hash_table(ctx, empty_key, None, container=container, shared_name=shared_name,
                                    use_node_name_sharing=use_node_name_sharing, key_dtype=key_dtype,
                                    value_dtype=value_dtype, value_shape=value_shape)


@op("MutableDenseHashTableV2", inputs=["empty_key", "deleted_key"],
    attrs={"container": "", "shared_name": "", "use_node_name_sharing": False, "key_dtype": REQUIRED,
           "value_dtype": REQUIRED, "value_shape": ()}, ctx=True, stateful=True)
def mutable_dense_hash_table(ctx, empty_key, deleted_key, *, container, shared_name, use_node_name_sharing,
                             key_dtype, value_dtype, value_shape):
    return _create(ctx, shared_name, use_node_name_sharing,
                   lambda n: Table(n, key_dtype, value_dtype, True, value_shape or ()))


@op("AnonymousHashTable", inputs=[], attrs={"key_dtype": REQUIRED, "value_dtype": REQUIRED}, stateful=True)
def anonymous_hash_table(*, key_dtype, value_dtype):
    return handle(Table("anonymous", key_dtype, value_dtype, False))


@op("AnonymousMutableHashTable", inputs=[], attrs={"key_dtype": REQUIRED, "value_dtype": REQUIRED}, stateful=True)
def anonymous_mutable_hash_table(*, key_dtype, value_dtype):
    return handle(Table("anonymous", key_dtype, value_dtype, True))


# --------------------------------------------------------------------------- lookups and updates

@op("LookupTableFind", "LookupTableFindV2", inputs=["table_handle", "keys", "default_value"], stateful=True)
def lookup_table_find(table_handle, keys, default_value):
    t = _table(table_handle, "LookupTableFind")
    if not t.initialized:
        raise ExecutionError(f"table {t.name!r} is not initialized")
    return t.find(keys, default_value)


@op("LookupTableInsert", "LookupTableInsertV2", inputs=["table_handle", "keys", "values"], stateful=True)
def lookup_table_insert(table_handle, keys, values):
    t = _table(table_handle, "LookupTableInsert")
    if not t.mutable:
        raise ExecutionError(f"LookupTableInsert: table {t.name!r} is not mutable")
    t.insert(keys, values, "LookupTableInsert")
    return ()


@op("LookupTableRemoveV2", inputs=["table_handle", "keys"], stateful=True)
def lookup_table_remove(table_handle, keys):
    t = _table(table_handle, "LookupTableRemove")
    if not t.mutable:
        raise ExecutionError(f"LookupTableRemove: table {t.name!r} is not mutable")
    for k in t._keys(keys, "LookupTableRemove"):
        t.data.pop(k, None)
    return ()


@op("LookupTableSize", "LookupTableSizeV2", inputs=["table_handle"], stateful=True)
def lookup_table_size(table_handle):
    return np.array(len(_table(table_handle, "LookupTableSize").data), dtype=np.int64)


@op("LookupTableExport", "LookupTableExportV2", inputs=["table_handle"], attrs={"Tkeys": None, "Tvalues": None},
    stateful=True)
def lookup_table_export(table_handle, *, Tkeys, Tvalues):
    return _table(table_handle, "LookupTableExport").export()


@op("LookupTableImport", "LookupTableImportV2", inputs=["table_handle", "keys", "values"], stateful=True)
def lookup_table_import(table_handle, keys, values):
    t = _table(table_handle, "LookupTableImport")
    t.data = {}
    t.insert(keys, values, "LookupTableImport")
    t.initialized = True
    return ()


# --------------------------------------------------------------------------- initializers

@op("InitializeTable", "InitializeTableV2", inputs=["table_handle", "keys", "values"], stateful=True)
def initialize_table(table_handle, keys, values):
    t = _table(table_handle, "InitializeTable")
    if t.initialized:
        return ()
    if np.shape(keys) != np.shape(values)[:np.ndim(keys)]:
        raise ExecutionError(f"InitializeTable: keys shape {list(np.shape(keys))} and values shape "
                             f"{list(np.shape(values))} differ")
    t.insert(keys, values, "InitializeTable", strict=True)
    t.initialized = True
    return ()


def _parse_field(text: bytes, dt: dtypes.DType, line_no: int, what: str):
    if dt.name == "string":
        return text
    s = text.decode("ascii", "replace").strip()
    try:
        if dt.np.kind in "iu" and "_" not in s:
            v = int(s)
            info = np.iinfo(dt.np)
            if info.min <= v <= info.max:
                return v
        elif dt.np.kind == "f" and "_" not in s:
            return float(s)
    except ValueError:
        pass
    raise ExecutionError(f"{what}: field {_show(text)} in line {line_no} is not a valid {dt.name}")


@op("InitializeTableFromTextFile", "InitializeTableFromTextFileV2", inputs=["table_handle", "filename"],
    attrs={"key_index": REQUIRED, "value_index": REQUIRED, "vocab_size": -1, "delimiter": "\t", "offset": 0},
    ctx=True, stateful=True)
def initialize_table_from_text_file(ctx, table_handle, filename, *, key_index, value_index, vocab_size,
                                    delimiter, offset):
    t = _table(table_handle, "InitializeTableFromTextFile")
    if t.initialized:
        return ()
    what = "InitializeTableFromTextFile"
    for idx, dt, role in ((key_index, t.key_dtype, "Key"), (value_index, t.value_dtype, "Value")):
        if idx == LINE_NUMBER and dt.name != "int64":
            raise ExecutionError(f"{what}: {role} index for line number requires table {role.lower()} dtype of "
                                 f"int64, got {dt.name}")
        if idx == WHOLE_LINE and dt.name not in ("string", "int64", "int32", "float32", "float64"):
            raise ExecutionError(f"{what}: {role} index for whole line cannot give a {dt.name}")
        if idx < WHOLE_LINE:
            raise ExecutionError(f"{what}: invalid {role.lower()} index {idx}")
    data = ctx.runtime.read_asset(filename)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if vocab_size >= 0:
        if len(lines) < vocab_size:
            raise ExecutionError(f"{what}: invalid vocab_size in {_show(np.asarray(filename).reshape(-1)[0])}: "
                                 f"expected {vocab_size} but got {len(lines)}")
        lines = lines[:vocab_size]
    delim = delimiter.encode("utf-8")
    need = max(key_index, value_index) + 1
    keys, values = [], []
    for i, line in enumerate(lines):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            raise ExecutionError(f"{what}: empty line found at line {i} of the vocabulary file")
        cols = line.split(delim) if need > 0 else None
        if cols is not None and len(cols) < need:
            raise ExecutionError(f"{what}: invalid number of columns in line {i} ({_show(line)}): expected at "
                                 f"least {need} got {len(cols)}")
        row = []
        for idx, dt in ((key_index, t.key_dtype), (value_index, t.value_dtype)):
            if idx == LINE_NUMBER:
                row.append(i + offset)
            elif idx == WHOLE_LINE:
                row.append(_parse_field(line, dt, i, what))
            else:
                row.append(_parse_field(cols[idx], dt, i, what))
        keys.append(row[0])
        values.append(row[1])
    t.insert(_array(keys, t.key_dtype, (len(keys),)), _array(values, t.value_dtype, (len(values),)), what,
             strict=True)
    t.initialized = True
    return ()
