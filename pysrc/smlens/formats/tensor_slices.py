"""V1 checkpoints (tf.compat.v1.train.Saver(write_version=V1)): one or more files, each a LevelDB table whose
empty key holds a SavedTensorSliceMeta (every tensor's name, dtype, shape, slices) and whose other keys hold
one slice of one tensor each (SavedSlice with a TensorProto). Values are read on demand."""
from __future__ import annotations

import re

import numpy as np

from .. import dtypes, tensors
from ..errors import FormatError, NotFoundError, UnsupportedError
from ..proto import checkpoint_pb2, types_pb2
from ..sources import Source, display_path
from .bundle import TensorEntry, slice_key, slice_region
from .stdhash import unordered_map_order
from .table import Table


def _extents(s) -> list[tuple[int, int]]:
    return [(x.start, x.length if x.HasField("length") else -1) for x in s.extent]


def shard_files(source: Source, path: str) -> list[str]:
    """`path` itself, or the `path-NNNNN-of-NNNNN` shards of a sharded V1 save."""
    files = set(source.list())
    if path in files:
        return [path]
    rx = re.compile(re.escape(path) + r"-\d{5}-of-\d{5}$")
    return sorted(f for f in files if rx.match(f))


class SliceCheckpoint:
    """A V1 checkpoint behind formats.reader.CheckpointReader (the interface Bundle has too)."""

    format_version = "V1"

    def __init__(self, source: Source, path: str):
        self.source = source
        self.prefix = path
        self.display = display_path(source, path)
        self.files = shard_files(source, path)
        if not self.files:
            raise NotFoundError("no such checkpoint file", self.display)
        self.entries: dict[str, TensorEntry] = {}
        self._metas: list[checkpoint_pb2.SavedSliceMeta] = []
        self._slice_counts: dict[str, int] = {}   # slices of a tensor over all shards
        self._where: dict[bytes, str] = {}   # slice key -> file holding it
        self._tables: dict[str, Table] = {}
        for f in self.files:
            shown = display_path(source, f)
            data = source.read(f)
            if not data:
                raise FormatError("empty checkpoint file", shown)
            table = Table(data, shown)
            self._tables[f] = table
            if b"" not in table.entries:
                raise FormatError("not a V1 checkpoint: no SavedTensorSliceMeta", shown)
            meta = self._parse(table.entries[b""], shown).meta
            for key in table.entries:
                if key:
                    self._where[key] = f
            for t in meta.tensor:
                self._slice_counts[t.name] = self._slice_counts.get(t.name, 0) + len(t.slice)
                if t.name in self.entries:
                    continue
                self._metas.append(t)
                self.entries[t.name] = self._entry(t, shown)
        self.entries = dict(sorted(self.entries.items()))
        self.object_graph = None
        self.num_shards = len(self.files)

    @staticmethod
    def _parse(value: bytes, shown: str) -> checkpoint_pb2.SavedTensorSlices:
        msg = checkpoint_pb2.SavedTensorSlices()
        try:
            msg.ParseFromString(value)
        except Exception:
            raise FormatError("corrupt V1 checkpoint entry (not a SavedTensorSlices protobuf)", shown) from None
        return msg

    def _entry(self, t: checkpoint_pb2.SavedSliceMeta, shown: str) -> TensorEntry:
        try:
            dt = dtypes.from_enum(t.type)
        except UnsupportedError:
            dt = dtypes.DType(t.type, f"unknown({t.type})", np.dtype(np.uint8), 0)
        shape = tensors.shape_from_proto(t.shape) or ()
        slices = [_extents(s) for s in t.slice]
        n = tensors.num_elements(shape, f"{shown}: tensor {t.name!r}")
        e = TensorEntry(t.name, dt, shape, n * dt.itemsize, slices=slices, dtype_enum=t.type)
        return e

    def debug_lines(self) -> list[str]:
        """What TF's CheckpointReader.debug_string() lists for a V1 checkpoint, in TF's order: the iteration
        order of the reader's std::unordered_map, the tensors inserted shard by shard in file order."""
        out = []
        by_name = {t.name: t for t in self._metas}
        for tname in unordered_map_order([t.name for t in self._metas]):
            t = by_name[tname]
            e = self.entries[t.name]
            dims = "[" + ",".join(str(d) for d in e.shape) + "]"
            name = dtypes.ENUM_NAMES.get(t.type, f"DT_UNKNOWN_{t.type}")
            n_slices = self._slice_counts.get(t.name, len(t.slice))
            extra = f", {n_slices} slices" if n_slices > 1 else ""
            out.append(f"{t.name} ({name}) {dims}{extra}")
        return out

    def read(self, name: str) -> np.ndarray:
        e = self.entries.get(name)
        if e is None:
            raise NotFoundError(f"tensor {name!r} not in checkpoint", self.display)
        if e.dtype.name.startswith("unknown") or e.dtype.name in ("resource", "variant"):
            raise UnsupportedError(f"tensor {name!r}: cannot read values of dtype {e.dtype.name}", self.display)
        n = tensors.num_elements(e.shape, f"{self.display}: tensor {name!r}")
        full = [(0, -1)] * len(e.shape)
        if e.slices == [full] or not e.slices:
            return self._read_slice(e, full, tuple(e.shape))
        out = np.empty(e.shape, dtype=e.dtype.np)
        covered = 0
        for extents in e.slices:
            index, sshape = slice_region(e, extents, self.display)
            out[index] = self._read_slice(e, extents, sshape)
            covered += tensors.num_elements(sshape)
        if covered < n:
            raise FormatError(f"tensor {name!r}: its slices do not cover shape {list(e.shape)}", self.display)
        return out

    def _read_slice(self, e: TensorEntry, extents, shape) -> np.ndarray:
        key = slice_key(e.name, extents)
        f = self._where.get(key)
        if f is None:
            raise FormatError(f"tensor {e.name!r}: slice {extents} is listed but not stored", self.display)
        shown = display_path(self.source, f)
        saved = self._parse(self._tables[f].entries[key], shown).data
        n = tensors.num_elements(shape)
        stored = _stored_count(saved.data, e.dtype)
        if stored != n:  # TensorProto decoding would repeat the last value to fill the shape
            raise FormatError(f"tensor {e.name!r}: slice {extents} holds {stored} values, needs {n}", shown)
        data = types_pb2.TensorProto()
        data.CopyFrom(saved.data)
        data.dtype = e.dtype_enum
        data.tensor_shape.CopyFrom(tensors.shape_to_proto(shape))
        return tensors.to_numpy(data, f"{shown}: tensor {e.name!r}")


_FIELDS = {"float32": ("float_val", 1), "float64": ("double_val", 1), "int64": ("int64_val", 1),
           "bool": ("bool_val", 1), "string": ("string_val", 1), "float16": ("half_val", 1),
           "bfloat16": ("half_val", 1), "complex64": ("scomplex_val", 2), "complex128": ("dcomplex_val", 2),
           "uint32": ("uint32_val", 1), "uint64": ("uint64_val", 1)}


def _stored_count(t: types_pb2.TensorProto, dt: dtypes.DType) -> int:
    if t.tensor_content:
        return len(t.tensor_content) // max(dt.itemsize, 1)
    field, per = _FIELDS.get(dt.name, ("int_val", 1))
    return len(getattr(t, field)) // per
