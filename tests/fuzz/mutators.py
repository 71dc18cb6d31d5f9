"""Structure-aware mutators: each takes a seed model (a dict of relative path -> bytes) and a Random, and
returns a mutated copy plus a short description. Mutations that keep checksums valid (rebuilt tables,
recomputed tensor CRCs) reach the entry parser, the value decoders, the object graph and the graph
compiler instead of stopping at the first CRC check."""
from __future__ import annotations

import random
import struct

from google.protobuf import descriptor, text_format

from helpers.bundle_writer import _block, _varint, _with_trailer
from smlens.formats import crc32c
from smlens.formats.table import MAGIC, Table
from smlens.proto import checkpoint_pb2, saved_model_pb2

Files = dict[str, bytes]
OBJECT_GRAPH_KEY = b"_CHECKPOINTABLE_OBJECT_GRAPH"

EXTREME_INTS = [0, 1, -1, 2, 7, 64, 65, 255, 256, 1 << 15, 1 << 31, (1 << 31) - 1, -(1 << 31), 1 << 32,
                (1 << 62), (1 << 63) - 1, -(1 << 63), 10 ** 9, 3, 100]
INT32S = [v for v in EXTREME_INTS if -(1 << 31) <= v < (1 << 31)]
MAGIC_BYTES = [b"\xff" * 8, b"\x00" * 8, b"\x7f\xff\xff\xff\xff\xff\xff\xff", b"\x80" * 10, b"\x01"]


# ---------------------------------------------------------------- raw bytes

def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(6)
    if kind == 0 and b:
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == 1:
        del b[rng.randrange(len(b) + 1):]
    elif kind == 2:
        pos = rng.randrange(len(b) + 1)
        b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == 3:
        pos = rng.randrange(len(b) + 1)
        b[pos:pos + 8] = rng.choice(MAGIC_BYTES)
    elif kind == 4 and b:  # duplicate a span (repeated fields, repeated blocks)
        start = rng.randrange(len(b))
        span = b[start:start + rng.randint(1, 64)]
        pos = rng.randrange(len(b) + 1)
        b[pos:pos] = span * rng.randint(1, 8)
    elif b:
        start = rng.randrange(len(b))
        del b[start:start + rng.randint(1, 32)]
    return bytes(b)


# ---------------------------------------------------------------- checkpoint index (LevelDB table)

def _snappy_literal(data: bytes) -> bytes:
    """A valid snappy stream made of literals and (where possible) a long overlapping copy."""
    out = bytearray(_varint(len(data)))
    pos = 0
    while pos < len(data):
        chunk = data[pos:pos + 60]
        out.append((len(chunk) - 1) << 2)
        out += chunk
        pos += len(chunk)
    return bytes(out)


def build_table(entries: list[tuple[bytes, bytes]], rng: random.Random) -> bytes:
    """A checksum-valid table with the entries split over several data blocks, some snappy-compressed,
    and (sometimes) a hostile index block: repeated, reordered or overlapping block handles."""
    entries = sorted(entries)
    nblocks = rng.randint(1, max(1, min(4, len(entries))))
    cuts = sorted(rng.sample(range(1, len(entries)), nblocks - 1)) if len(entries) > 1 and nblocks > 1 else []
    groups = [entries[a:b] for a, b in zip([0] + cuts, cuts + [len(entries)])]
    out = bytearray()
    handles = []
    for g in groups:
        block = _block(g)
        off = len(out)
        if rng.random() < 0.3:
            body = _snappy_literal(block)
            out += body + b"\x01" + struct.pack("<I", crc32c.mask(crc32c.crc32c(body + b"\x01")))
            handles.append((g[-1][0] if g else b"", off, len(body)))
        else:
            out += _with_trailer(block)
            handles.append((g[-1][0] if g else b"", off, len(block)))
    r = rng.random()
    if r < 0.1 and handles:
        handles = handles + [handles[0]] * rng.randint(1, 50)
    elif r < 0.15:
        rng.shuffle(handles)
    elif r < 0.2 and handles:
        k, off, size = handles[0]
        handles.append((k + b"\xff", off + 1, max(size - 1, 0)))
    meta_off = len(out)
    meta = _block([])
    out += _with_trailer(meta)
    idx_off = len(out)
    index = _block([(k + b"\xff" * (i + 1), _varint(off) + _varint(size)) for i, (k, off, size) in
                    enumerate(handles)])
    out += _with_trailer(index)
    footer = _varint(meta_off) + _varint(len(meta)) + _varint(idx_off) + _varint(len(index))
    footer += b"\x00" * (40 - len(footer)) + struct.pack("<Q", MAGIC)
    return bytes(out + footer)


def _mutate_shape(shape, rng: random.Random) -> None:
    r = rng.randrange(5)
    if r == 0:
        for _ in range(rng.choice([1, 3, 63, 64, 65, 300])):
            shape.dim.add().size = rng.choice([0, 1, 1, 2])
    elif r == 1 and shape.dim:
        rng.choice(shape.dim).size = rng.choice(EXTREME_INTS)
    elif r == 2:
        shape.unknown_rank = not shape.unknown_rank
    elif r == 3:
        del shape.dim[:]
    else:
        shape.dim.add().size = rng.choice(EXTREME_INTS)


def mutate_entry_proto(value: bytes, rng: random.Random) -> bytes:
    e = checkpoint_pb2.BundleEntryProto()
    try:
        e.ParseFromString(value)
    except Exception:  # noqa: BLE001 - mutate the bytes instead
        return mutate_bytes(value, rng)
    field = rng.choice(["dtype", "shape", "shard_id", "offset", "size", "crc32c", "slices", "bytes"])
    if field == "dtype":
        e.dtype = rng.choice(list(range(0, 32)) + [101, 102, 119, 200, 1000])
    elif field == "shape":
        _mutate_shape(e.shape, rng)
    elif field in ("shard_id", "offset", "size"):
        v = rng.choice(EXTREME_INTS)
        setattr(e, field, max(min(v, (1 << 31) - 1), -(1 << 31)) if field == "shard_id" else v)
    elif field == "crc32c":
        e.crc32c = rng.randrange(1 << 32)
    elif field == "slices":
        s = e.slices.add()
        for _ in range(rng.randint(0, 3)):
            x = s.extent.add()
            x.start = rng.choice(EXTREME_INTS)
            if rng.random() < 0.5:
                x.length = rng.choice(EXTREME_INTS)
    else:
        return mutate_bytes(value, rng)
    return e.SerializeToString()


def index_entries(index: bytes) -> list[tuple[bytes, bytes]]:
    return list(Table(index, "seed").entries.items())


def mutate_index(files: Files, index_path: str, rng: random.Random) -> str:
    entries = index_entries(files[index_path])
    r = rng.random()
    if r < 0.15:  # header
        entries = [(k, mutate_bytes(v, rng) if k == b"" else v) for k, v in entries]
        what = "header bytes"
    elif r < 0.25:  # keys: drop, duplicate prefixes, odd bytes
        i = rng.randrange(len(entries))
        k, v = entries[i]
        entries[i] = (rng.choice([b"", b"\x00" + k, k + b"\xff", k[: len(k) // 2], k * 3]), v)
        what = "entry key"
    elif r < 0.3:
        entries = entries + [(b"x%d" % i, entries[-1][1]) for i in range(rng.randint(1, 200))]
        what = "many entries"
    else:
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(entries))
            k, v = entries[i]
            entries[i] = (k, mutate_entry_proto(v, rng))
        what = "entry fields"
    files[index_path] = build_table(entries, rng)
    return what


# ---------------------------------------------------------------- tensor data

def _entry_map(files: Files, index_path: str) -> dict[bytes, checkpoint_pb2.BundleEntryProto]:
    out = {}
    for k, v in index_entries(files[index_path]):
        if k and k[0] != 0:
            e = checkpoint_pb2.BundleEntryProto()
            e.ParseFromString(v)
            out[k] = e
    return out


def _rewrite_index(files: Files, index_path: str, changed: dict[bytes, checkpoint_pb2.BundleEntryProto],
                   rng: random.Random) -> None:
    entries = [(k, changed[k].SerializeToString() if k in changed else v)
               for k, v in index_entries(files[index_path])]
    files[index_path] = build_table(entries, rng)


def _shard_name(prefix: str, shard: int, header_shards: int) -> str:
    return f"{prefix}.data-{shard:05d}-of-{header_shards:05d}"


def _num_shards(files: Files, index_path: str) -> int:
    h = checkpoint_pb2.BundleHeaderProto()
    h.ParseFromString(dict(index_entries(files[index_path]))[b""])
    return h.num_shards


def mutate_tensor_data(files: Files, index_path: str, rng: random.Random) -> tuple[str, bool]:
    """Mutate the stored bytes of one tensor. Returns (description, crc fixed). Without the CRC fix the
    reader must refuse the data; with it, the mutated values are legitimate and must decode cleanly."""
    prefix = index_path[: -len(".index")]
    entries = _entry_map(files, index_path)
    plain = [k for k, e in entries.items() if not e.slices and e.size > 0]
    if not plain:
        return "no tensor data", False
    key = rng.choice(plain)
    e = entries[key]
    shard = _shard_name(prefix, e.shard_id, _num_shards(files, index_path))
    data = bytearray(files[shard])
    chunk = bytes(data[e.offset:e.offset + e.size])
    fix = rng.random() < 0.5
    crc = None
    if e.dtype == 7 and fix:  # strings: rebuild with hostile lengths but a valid layout and CRCs
        chunk, crc = _hostile_strings(rng)
    else:
        chunk = mutate_bytes(chunk, rng) if rng.random() < 0.5 else _flip(chunk, rng)
    if fix:
        e.offset = len(data)
        e.size = len(chunk)
        e.crc32c = crc if crc is not None else crc32c.mask(crc32c.crc32c(chunk))
        data += chunk
        _rewrite_index(files, index_path, {key: e}, rng)
    else:
        data[e.offset:e.offset + e.size] = chunk[: e.size].ljust(e.size, b"\x00")
    files[shard] = bytes(data)
    return f"data of {key.decode(errors='replace')}", fix


def _flip(chunk: bytes, rng: random.Random) -> bytes:
    b = bytearray(chunk)
    if b:
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    return bytes(b)


def _hostile_strings(rng: random.Random) -> tuple[bytes, int]:
    values = [rng.choice([b"", b"x" * rng.randint(0, 100), bytes(rng.randrange(256) for _ in range(8))])
              for _ in range(rng.randint(0, 5))]
    return string_tensor(values)


def string_tensor(values: list[bytes]) -> tuple[bytes, int]:
    """(stored bytes, masked entry CRC) of a string tensor: varint lengths, the lengths' CRC, the bytes.
    The entry CRC covers each length as a uint32, then the stored lengths' CRC and the bytes."""
    lengths = b"".join(_varint(len(v)) for v in values)
    lens_crc = crc32c.crc32c(struct.pack(f"<{len(values)}I", *[len(v) for v in values]))
    rest = struct.pack("<I", crc32c.mask(lens_crc)) + b"".join(values)
    return lengths + rest, crc32c.mask(crc32c.crc32c(rest, lens_crc))


# ---------------------------------------------------------------- object graph

def mutate_object_graph(files: Files, index_path: str, rng: random.Random) -> str:
    prefix = index_path[: -len(".index")]
    entries = _entry_map(files, index_path)
    e = entries.get(OBJECT_GRAPH_KEY)
    if e is None:
        return "no object graph"
    shard = _shard_name(prefix, e.shard_id, _num_shards(files, index_path))
    from smlens.formats.bundle import Bundle
    from smlens.sources import MemorySource
    g = checkpoint_pb2.TrackableObjectGraph()
    raw = Bundle(MemorySource(dict(files)), prefix).read(OBJECT_GRAPH_KEY.decode()).reshape(-1)[0]
    g.ParseFromString(raw)
    r = rng.randrange(8)
    if r == 0:
        del g.nodes[:]
        what = "no nodes"
    elif r == 1:  # long chain below the root
        n = rng.choice([10, 1000, 20000])
        start = len(g.nodes)
        g.nodes[0].children.add(node_id=start, local_name="c")
        for i in range(n):
            node = g.nodes.add()
            node.children.add(node_id=start + i + 1 if i + 1 < n else 0, local_name="c" * rng.randint(1, 3))
        if g.nodes and g.nodes[-1].attributes is not None:
            a = g.nodes[-1].attributes.add()
            a.name, a.checkpoint_key = "VARIABLE_VALUE", next(iter(entries)).decode(errors="replace")
        what = f"chain of {n}"
    elif r == 2 and g.nodes:
        node = rng.choice(g.nodes)
        node.children.add(node_id=rng.choice(INT32S), local_name="x")
        what = "child id"
    elif r == 3 and g.nodes:
        node = rng.choice(g.nodes)
        s = node.slot_variables.add()
        s.original_variable_node_id = rng.choice(INT32S)
        s.slot_variable_node_id = rng.choice(INT32S)
        s.slot_name = "m"
        what = "slot refs"
    elif r == 4 and g.nodes:
        for node in g.nodes:
            for a in node.attributes:
                a.checkpoint_key = rng.choice([k.decode(errors="replace") for k in entries] + ["", "nope"])
        what = "attribute keys"
    elif r == 5 and g.nodes:  # wide: many children of the root with long names
        for i in range(rng.choice([10, 5000])):
            g.nodes[0].children.add(node_id=rng.randrange(len(g.nodes)), local_name="n" * rng.randint(1, 200))
        what = "wide"
    else:
        raw2 = mutate_bytes(g.SerializeToString(), rng)
        return _store_object_graph(files, index_path, shard, e, raw2, rng, "object graph bytes")
    return _store_object_graph(files, index_path, shard, e, g.SerializeToString(), rng, what)


def _store_object_graph(files, index_path, shard, e, raw: bytes, rng, what: str) -> str:
    values = [raw] if rng.random() < 0.9 else rng.choice([[], [raw, raw]])
    chunk, e.crc32c = string_tensor(values)
    e.shape.Clear()
    if len(values) != 1 or rng.random() < 0.5:
        e.shape.dim.add().size = len(values)
    data = bytearray(files[shard])
    e.offset, e.size = len(data), len(chunk)
    files[shard] = bytes(data + chunk)
    _rewrite_index(files, index_path, {OBJECT_GRAPH_KEY: e}, rng)
    return what + ("" if len(values) == 1 else f" ({len(values)} values)")


# ---------------------------------------------------------------- saved_model.pb / .pbtxt

def _messages(msg, out: list, depth: int = 0) -> None:
    out.append(msg)
    if depth > 12 or len(out) > 4000:
        return
    for fd, value in msg.ListFields():
        if fd.type != descriptor.FieldDescriptor.TYPE_MESSAGE:
            continue
        if fd.message_type.GetOptions().map_entry:
            for v in value.values():
                if hasattr(v, "ListFields"):
                    _messages(v, out, depth + 1)
        elif fd.label == descriptor.FieldDescriptor.LABEL_REPEATED:
            for v in value:
                _messages(v, out, depth + 1)
        else:
            _messages(value, out, depth + 1)


OP_SWAPS = ["Identity", "Const", "Fill", "BroadcastTo", "Tile", "Range", "Reshape", "While", "StatelessWhile",
            "AddV2", "MatMul", "Cast", "ConcatV2", "StridedSlice", "Placeholder", "NoOp", "Enter", "Merge",
            "Switch", "NextIteration", "Exit", "StringJoin", "RegexReplace", "DecodeJpeg", "PartitionedCall"]
STRINGS = ["", "x", "a" * 300, "../../../etc", "/abs", "serving_default", "serve", "^x", "x:0", "x:99",
           "(a+)+$", "\\1", "0", "-1"]


def _mutate_scalar(msg, fd, rng: random.Random) -> None:
    T = descriptor.FieldDescriptor
    if fd.label == T.LABEL_REPEATED:
        seq = getattr(msg, fd.name)
        if len(seq) and rng.random() < 0.5:
            if rng.random() < 0.5:
                del seq[rng.randrange(len(seq))]
            else:
                seq.extend([seq[rng.randrange(len(seq))]] * rng.randint(1, 10))
            return
        value = _scalar_value(fd, rng)
        try:
            seq.append(value)
        except (TypeError, ValueError):
            pass
        return
    try:
        setattr(msg, fd.name, _scalar_value(fd, rng))
    except (TypeError, ValueError):
        pass


def _scalar_value(fd, rng: random.Random):
    T = descriptor.FieldDescriptor
    t = fd.type
    if t in (T.TYPE_INT32, T.TYPE_SINT32, T.TYPE_SFIXED32):
        return rng.choice([v for v in EXTREME_INTS if -(1 << 31) <= v < (1 << 31)])
    if t in (T.TYPE_INT64, T.TYPE_SINT64, T.TYPE_SFIXED64):
        return rng.choice(EXTREME_INTS)
    if t in (T.TYPE_UINT32, T.TYPE_FIXED32):
        return rng.choice([0, 1, 7, (1 << 32) - 1])
    if t in (T.TYPE_UINT64, T.TYPE_FIXED64):
        return rng.choice([0, 1, (1 << 64) - 1])
    if t in (T.TYPE_FLOAT, T.TYPE_DOUBLE):
        return rng.choice([0.0, -1.0, 1e308, float("inf"), float("nan"), 1e-40])
    if t == T.TYPE_BOOL:
        return rng.random() < 0.5
    if t == T.TYPE_ENUM:
        return rng.choice([v.number for v in fd.enum_type.values] + [0, 1, 7, 23, 999])
    if t == T.TYPE_STRING:
        if fd.name == "op":
            return rng.choice(OP_SWAPS)
        return rng.choice(STRINGS)
    if t == T.TYPE_BYTES:
        return rng.choice([b"", b"\x00" * 7, b"\xff" * 33, b"abc"])
    return None


def mutate_proto_message(msg, rng: random.Random) -> str:
    msgs: list = []
    _messages(msg, msgs)
    target = rng.choice(msgs)
    fields = [fd for fd in target.DESCRIPTOR.fields if fd.type != descriptor.FieldDescriptor.TYPE_MESSAGE]
    subs = [fd for fd in target.DESCRIPTOR.fields if fd.type == descriptor.FieldDescriptor.TYPE_MESSAGE]
    r = rng.random()
    if r < 0.55 and fields:
        fd = rng.choice(fields)
        _mutate_scalar(target, fd, rng)
        return f"{target.DESCRIPTOR.name}.{fd.name}"
    if r < 0.7 and subs:
        fd = rng.choice(subs)
        if fd.label == descriptor.FieldDescriptor.LABEL_REPEATED and not fd.message_type.GetOptions().map_entry:
            seq = getattr(target, fd.name)
            if len(seq) and rng.random() < 0.6:
                i = rng.randrange(len(seq))
                if rng.random() < 0.5:
                    del seq[i]
                else:
                    for _ in range(rng.randint(1, 5)):
                        seq.add().CopyFrom(seq[i])
            else:
                seq.add()
        elif fd.label != descriptor.FieldDescriptor.LABEL_REPEATED:
            getattr(target, fd.name).Clear() if rng.random() < 0.5 else getattr(target, fd.name).SetInParent()
        return f"{target.DESCRIPTOR.name}.{fd.name} (sub-message)"
    if r < 0.8 and target.DESCRIPTOR.name == "TensorShapeProto":
        _mutate_shape(target, rng)
        return "shape"
    if r < 0.9 and target.DESCRIPTOR.name == "NodeDef":
        return _mutate_node(target, rng)
    target.Clear()
    return f"{target.DESCRIPTOR.name} cleared"


def _mutate_node(node, rng: random.Random) -> str:
    r = rng.randrange(4)
    if r == 0:
        node.op = rng.choice(OP_SWAPS)
        return f"node op -> {node.op}"
    if r == 1 and node.attr:
        key = rng.choice(sorted(node.attr))
        a = node.attr[key]
        choice = rng.randrange(5)
        if choice == 0:
            a.type = rng.choice([1, 2, 3, 7, 9, 10, 20, 21])
        elif choice == 1:
            a.i = rng.choice(EXTREME_INTS)
        elif choice == 2:
            a.s = rng.choice([b"", b"(a+)+$", b"\\1", b"x" * 1000])
        elif choice == 3:
            a.list.i.extend([rng.choice(EXTREME_INTS) for _ in range(rng.randint(0, 6))])
        else:
            _mutate_shape(a.shape, rng)
        return f"attr {key}"
    if r == 2:
        node.input.append(rng.choice(["x", "^x", "x:9", node.name, node.name + ":0"]))
        return "node input"
    del node.input[:]
    return "node inputs cleared"


def mutate_saved_model(files: Files, path: str, rng: random.Random) -> str:
    sm = saved_model_pb2.SavedModel()
    text = path.endswith(".pbtxt")
    if text:
        text_format.Parse(files[path].decode(), sm, allow_unknown_field=True)
    else:
        sm.ParseFromString(files[path])
    whats = [mutate_proto_message(sm, rng) for _ in range(rng.randint(1, 3))]
    files[path] = text_format.MessageToString(sm).encode() if text else sm.SerializeToString()
    return ", ".join(whats)


def mutate_pbtxt(files: Files, path: str, rng: random.Random) -> str:
    data = files[path]
    r = rng.random()
    if r < 0.15:
        depth = rng.choice([50, 5000, 100000])
        pos = data.find(b"{", rng.randrange(max(len(data), 1)))
        pos = pos + 1 if pos >= 0 else len(data)
        files[path] = data[:pos] + (b"x { " * depth) + (b"} " * depth) + data[pos:]
        return f"nesting {depth}"
    if r < 0.3:
        nums = [b"1", b"-1", b"99999999999999999999", b"1e999", b"nan", b"-9223372036854775808"]
        idx = [i for i in range(len(data)) if data[i:i + 1].isdigit()]
        if idx:
            i = rng.choice(idx)
            j = i
            while j < len(data) and data[j:j + 1].isdigit():
                j += 1
            files[path] = data[:i] + rng.choice(nums) + data[j:]
            return "number"
    files[path] = mutate_bytes(data, rng)
    return "text bytes"
