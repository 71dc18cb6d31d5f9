"""Tensor-bundle checkpoints: `<prefix>.index` (a LevelDB table of BundleEntryProto) and
`<prefix>.data-NNNNN-of-NNNNN` shards.

Listing tensors reads only the `.index`; values are read on demand, one tensor at a time, and their
CRC32C is verified before they are returned.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from .. import dtypes, tensors
from ..errors import ChecksumError, FormatError, NotFoundError, UnsupportedError
from ..proto import checkpoint_pb2
from ..sources import Source, display_path, prefetch, read_exact
from . import crc32c
from .checkpoint import object_paths
from .table import Table
from .varint import varint

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


@dataclass
class TensorEntry:
    name: str
    dtype: dtypes.DType
    shape: tuple[int, ...]
    nbytes: int                       # bytes on disk (sum over slices for partitioned tensors)
    shard_id: int = 0
    offset: int = 0
    size: int = 0
    crc32c: int = 0                   # masked
    slices: list[list[tuple[int, int]]] = field(default_factory=list)  # [(start, length)] per dim; -1 = full
    object_path: str | None = None    # TF2: path in the object graph, e.g. "model.dense.kernel"
    dtype_enum: int = 0


def _ordered_num(v: int) -> bytes:
    """OrderedCode WriteNumIncreasing."""
    b = v.to_bytes((v.bit_length() + 7) // 8, "big") if v else b""
    return bytes([len(b)]) + b


_HEADER_BITS = [(0, 0), (0x80, 0), (0xC0, 0), (0xE0, 0), (0xF0, 0), (0xF8, 0), (0xFC, 0), (0xFE, 0),
                (0xFF, 0), (0xFF, 0x80), (0xFF, 0xC0)]


def _ordered_signed(v: int) -> bytes:
    """OrderedCode WriteSignedNumIncreasing."""
    x = ~v if v < 0 else v
    if x < 64:
        return bytes([(0x80 ^ v) & 0xFF])
    length = 2
    while x >= 1 << (7 * length - 1):
        length += 1
    buf = bytearray((v & ((1 << 80) - 1)).to_bytes(10, "big"))
    begin = 10 - length
    buf[begin] ^= _HEADER_BITS[length][0]
    buf[begin + 1] ^= _HEADER_BITS[length][1]
    return bytes(buf[begin:])


def _ordered_string(s: bytes) -> bytes:
    return s.replace(b"\xff", b"\xff\x00").replace(b"\x00", b"\x00\xff") + b"\x00\x01"


def slice_key(name: str, extents: list[tuple[int, int]]) -> bytes:
    """The index key under which one slice of a partitioned tensor is stored."""
    key = _ordered_num(0) + _ordered_string(name.encode()) + _ordered_num(len(extents))
    for start, length in extents:
        key += _ordered_signed(start) + _ordered_signed(length)
    return key


def slice_region(e: TensorEntry, extents: list[tuple[int, int]], display: str) -> tuple[tuple, tuple[int, ...]]:
    """(index into the full tensor, shape) of one stored slice; FormatError if it lies outside the tensor."""
    if len(extents) != len(e.shape):
        raise FormatError(f"tensor {e.name!r}: slice {extents} does not match rank {len(e.shape)}", display)
    index, shape = [], []
    for d, (start, length) in enumerate(extents):
        stop = e.shape[d] if length == -1 else start + length
        if start < 0 or stop > e.shape[d] or stop < start:
            raise FormatError(f"tensor {e.name!r}: slice {extents} outside shape {list(e.shape)}", display)
        index.append(slice(start, stop))
        shape.append(stop - start)
    return tuple(index), tuple(shape)


class Bundle:
    """One checkpoint: `source` holds `<prefix>.index` and its data shards."""

    def __init__(self, source: Source, prefix: str):
        self.source = source
        self.prefix = prefix
        self.index_path = prefix + ".index"
        self.display = display_path(source, self.index_path)
        data = source.read(self.index_path)
        if not data:
            raise FormatError("empty checkpoint index", self.display)
        self._table = Table(data, self.display)
        raw = self._table.entries
        if b"" not in raw:
            raise FormatError("checkpoint index has no bundle header", self.display)
        self.header = self._parse(checkpoint_pb2.BundleHeaderProto, raw[b""], "bundle header")
        if self.header.num_shards < 1 or self.header.num_shards > 100000:
            raise FormatError(f"implausible shard count {self.header.num_shards}", self.display)
        self.entries: dict[str, TensorEntry] = {}
        self._slice_entries: dict[bytes, checkpoint_pb2.BundleEntryProto] = {}
        for key, value in raw.items():
            if not key:
                continue
            proto = self._parse(checkpoint_pb2.BundleEntryProto, value, f"entry {key!r}")
            if key[0] == 0:
                self._slice_entries[key] = proto
                continue
            name = key.decode("utf-8", "replace")
            self.entries[name] = self._entry(name, proto)
        for e in self.entries.values():
            if e.slices:
                e.nbytes = sum(self._slice_proto(e, s).size for s in e.slices)
        self.entries = dict(sorted(self.entries.items()))
        self._object_graph: checkpoint_pb2.TrackableObjectGraph | None | bool = False

    def _parse(self, cls, value: bytes, what: str):
        msg = cls()
        try:
            msg.ParseFromString(value)
        except Exception:
            raise FormatError(f"{what} is not a valid protobuf", self.display) from None
        return msg

    def _entry(self, name: str, p: checkpoint_pb2.BundleEntryProto) -> TensorEntry:
        try:
            dt = dtypes.from_enum(p.dtype)
        except UnsupportedError:
            dt = None
        shape = tensors.shape_from_proto(p.shape) or ()
        if dt is None:
            e = TensorEntry(name, dtypes.DType(p.dtype, f"unknown({p.dtype})", np.dtype(np.uint8), 0), shape, p.size)
            e.dtype_enum = p.dtype
            return e
        if not 0 <= p.shard_id < self.header.num_shards:
            raise FormatError(f"tensor {name!r}: shard {p.shard_id} out of range "
                              f"(checkpoint has {self.header.num_shards})", self.display)
        slices = [[(x.start, x.length if x.HasField("length") else -1) for x in s.extent] for s in p.slices]
        return TensorEntry(name, dt, shape, p.size, p.shard_id, p.offset, p.size, p.crc32c, slices,
                           dtype_enum=p.dtype)

    format_version = "V2"   # formats.reader.CheckpointReader

    @property
    def num_shards(self) -> int:
        return int(self.header.num_shards)

    def shard_path(self, shard_id: int) -> str:
        return f"{self.prefix}.data-{shard_id:05d}-of-{self.header.num_shards:05d}"

    def _slice_proto(self, e: TensorEntry, extents) -> checkpoint_pb2.BundleEntryProto:
        key = slice_key(e.name, extents)
        p = self._slice_entries.get(key)
        if p is None:
            raise FormatError(f"tensor {e.name!r}: slice {extents} is listed but not stored", self.display)
        return p

    # ---- values ----

    def read(self, name: str) -> np.ndarray:
        """The tensor's value (CRC32C-verified)."""
        e = self.entries.get(name)
        if e is None:
            raise NotFoundError(f"tensor {name!r} not in checkpoint", self.display)
        if e.dtype.itemsize == 0 and e.dtype.name != "string" or e.dtype.name.startswith("unknown"):
            raise UnsupportedError(f"tensor {name!r}: cannot read values of dtype {e.dtype.name}", self.display)
        n = tensors.num_elements(e.shape, f"{self.display}: tensor {name!r}")
        if not e.slices:
            return self._read_one(name, e.dtype, e.shape, n, e.shard_id, e.offset, e.size, e.crc32c)
        out = self._alloc(e, n)
        for extents in e.slices:
            p = self._slice_proto(e, extents)
            index, sshape = slice_region(e, extents, self.display)
            sn = tensors.num_elements(sshape)
            out[index] = self._read_one(f"{name} slice {extents}", e.dtype, sshape, sn,
                                        p.shard_id, p.offset, p.size, p.crc32c)
        return out

    def prefetch(self, names) -> None:
        """Announce tensors about to be read: the source may fetch their bytes now, coalesced per shard
        (reads stay CRC-checked by read())."""
        spans: dict[int, list[tuple[int, int]]] = {}
        for name in names:
            e = self.entries.get(name)
            if e is None or e.dtype.name.startswith("unknown"):
                continue
            if not e.slices:
                spans.setdefault(e.shard_id, []).append((e.offset, e.size))
                continue
            for extents in e.slices:
                p = self._slice_entries.get(slice_key(e.name, extents))
                if p is not None:
                    spans.setdefault(p.shard_id, []).append((p.offset, p.size))
        for shard, s in spans.items():
            if 0 <= shard < self.header.num_shards:
                prefetch(self.source, self.shard_path(shard), s)

    def _alloc(self, e: TensorEntry, n: int) -> np.ndarray:
        if e.dtype.name != "string" and n * e.dtype.itemsize > sum(
                self._slice_proto(e, s).size for s in e.slices):
            raise FormatError(f"tensor {e.name!r}: slices hold fewer bytes than shape {list(e.shape)} needs",
                              self.display)
        return np.empty(e.shape, dtype=e.dtype.np)

    def _read_one(self, what: str, dt: dtypes.DType, shape, n: int, shard: int, offset: int, size: int,
                  crc: int) -> np.ndarray:
        path = self.shard_path(shard)
        shard_display = display_path(self.source, path)
        try:
            shard_size = self.source.size(path)
        except NotFoundError:
            raise NotFoundError(f"data shard missing (needed for tensor {what!r})", shard_display) from None
        if offset < 0 or size < 0 or offset + size > shard_size:
            raise FormatError(f"tensor {what!r}: bytes {offset}..{offset + size} lie outside the shard "
                              f"({shard_size} bytes; truncated?)", shard_display)
        if dt.name != "string" and n * dt.itemsize != size:
            raise FormatError(f"tensor {what!r}: shape {list(shape)} of {dt.name} needs {n * dt.itemsize} bytes, "
                              f"entry says {size}", self.display)
        data = read_exact(self.source, path, offset, size)
        if dt.name == "string":
            return self._decode_strings(what, data, n, shape, shard_display, crc)
        if crc32c.mask(crc32c.crc32c(data)) != crc:
            raise ChecksumError(f"tensor {what!r}: CRC32C mismatch, data is corrupt", shard_display)
        big = self.header.endianness == checkpoint_pb2.BundleHeaderProto.BIG
        if dt.name == "bfloat16":
            bits = np.frombuffer(data, ">u2" if big else "<u2")
            return dtypes.bfloat16_from_bits(bits).reshape(shape)
        if dt.name in dtypes.FLOAT8:
            return dtypes.float8_from_bits(np.frombuffer(data, np.uint8), dt.name).reshape(shape)
        if dt.name in ("int4", "uint4"):  # one element per byte, in the low nibble
            nibbles = np.frombuffer(data, np.uint8) & 0xF
            return (((nibbles ^ 8).astype(np.int8) - 8) if dt.name == "int4" else nibbles.copy()).reshape(shape)
        arr = np.frombuffer(data, dt.np.newbyteorder(">" if big else "<"))
        return arr.astype(dt.np, copy=True).reshape(shape)

    def _decode_strings(self, what: str, data: bytes, n: int, shape, shard_display: str,
                        crc: int) -> np.ndarray:
        # Layout: varint64 length per element, masked CRC32C of the lengths, then the bytes. The entry's
        # checksum covers each length as a uint32, the length checksum, then the bytes.
        pos = 0
        lengths = []
        for _ in range(n):
            ln, pos = varint(data, pos, f"{shard_display}: tensor {what!r}")
            lengths.append(ln)
            if ln > len(data):
                raise FormatError(f"tensor {what!r}: string length {ln} exceeds the stored size", shard_display)
        if pos + 4 + sum(lengths) != len(data):
            raise FormatError(f"tensor {what!r}: string lengths do not add up to the stored size", shard_display)
        lens_crc = crc32c.crc32c(np.asarray(lengths, dtype="<u4").tobytes())
        stored_lens_crc = struct.unpack_from("<I", data, pos)[0]
        full = crc32c.crc32c(data[pos:], lens_crc)
        if crc32c.mask(lens_crc) != stored_lens_crc or crc32c.mask(full) != crc:
            raise ChecksumError(f"tensor {what!r}: CRC32C mismatch, data is corrupt", shard_display)
        pos += 4
        out = np.empty(n, dtype=object)
        for i, ln in enumerate(lengths):
            out[i] = data[pos:pos + ln]
            pos += ln
        return out.reshape(shape)

    # ---- TF2 object graph ----

    @property
    def object_graph(self) -> checkpoint_pb2.TrackableObjectGraph | None:
        if self._object_graph is False:
            self._object_graph = None
            if OBJECT_GRAPH_KEY in self.entries:
                value = self.read(OBJECT_GRAPH_KEY)
                if value.dtype != object or value.size != 1:
                    raise FormatError(f"{OBJECT_GRAPH_KEY} must be one string, found {value.size} "
                                      f"{self.entries[OBJECT_GRAPH_KEY].dtype.name} value(s)", self.display)
                raw = value.reshape(-1)[0]
                self._object_graph = self._parse(checkpoint_pb2.TrackableObjectGraph, raw, "object graph")
                self._assign_object_paths(self._object_graph)
        return self._object_graph

    def _assign_object_paths(self, graph) -> None:
        wanted = [i for i, node in enumerate(graph.nodes)
                  if any(a.checkpoint_key in self.entries for a in node.attributes)]
        paths = object_paths(graph, wanted)
        for node_id, node in enumerate(graph.nodes):
            for attr in node.attributes:
                e = self.entries.get(attr.checkpoint_key)
                if e is not None and node_id in paths:
                    p = paths[node_id]
                    e.object_path = p if attr.name == "VARIABLE_VALUE" else f"{p}[{attr.name}]"
