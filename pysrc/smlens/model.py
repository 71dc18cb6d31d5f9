"""A loaded model: SavedModel, checkpoint, `.meta` graph or frozen GraphDef, behind one interface."""
from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import dtypes, tensors
from .errors import InputError, NotFoundError
from .formats import checkpoint, savedmodel, tensor_slices
from .formats.bundle import Bundle, TensorEntry
from .formats.table import MAGIC as TABLE_MAGIC
from .proto import checkpoint_pb2, graph_pb2, saved_model_pb2
from .sources import DirSource, Source, SubSource, display_path

# How signatures and named tensors are compiled into plans: the runtime is a layer above this module, so
# the package root installs it here (smlens/__init__.py: runtime.plan.compile_signature / compile_names).
PLANNER: dict = {}


@dataclass
class TensorSpec:
    """One input or output of a signature."""
    key: str
    name: str                          # tensor name `node:port` ('' for composite encodings)
    dtype: dtypes.DType | None         # None for DT_INVALID
    shape: tuple[int, ...] | None      # None = unknown rank; -1 = unknown dim
    encoding: str = "name"             # name | coo_sparse | composite_tensor
    components: list[str] = field(default_factory=list)  # tensor names of sparse/composite parts

    @classmethod
    def from_proto(cls, key: str, info: saved_model_pb2.TensorInfo) -> "TensorSpec":
        enc = info.WhichOneof("encoding") or "name"
        comps: list[str] = []
        if enc == "coo_sparse":
            c = info.coo_sparse
            comps = [c.indices_tensor_name, c.values_tensor_name, c.dense_shape_tensor_name]
        elif enc == "composite_tensor":
            comps = [x.name for x in info.composite_tensor.components]
        dt = dtypes.from_enum(info.dtype) if info.dtype else None
        shape = tensors.shape_from_proto(info.tensor_shape) if info.HasField("tensor_shape") else None
        return cls(key, info.name, dt, shape, enc, comps)

    def to_json(self) -> dict:
        return {"key": self.key, "name": self.name, "dtype": self.dtype.name if self.dtype else None,
                "shape": None if self.shape is None else list(self.shape), "encoding": self.encoding}


class Signature:
    """A SignatureDef; calling it runs the graph: sig(**inputs) -> {output key: ndarray}."""

    def __init__(self, meta_graph: "MetaGraph", key: str, proto: saved_model_pb2.SignatureDef):
        self.meta_graph = meta_graph
        self.key = key
        self.proto = proto
        self.method_name = proto.method_name
        self.inputs = {k: TensorSpec.from_proto(k, v) for k, v in sorted(proto.inputs.items())}
        self.outputs = {k: TensorSpec.from_proto(k, v) for k, v in sorted(proto.outputs.items())}
        self._plan = None

    def plan(self):
        if self._plan is None:
            self._plan = PLANNER["signature"](self)
        return self._plan

    def __call__(self, **inputs: Any) -> dict[str, np.ndarray]:
        return self.plan().run(inputs)

    def to_json(self) -> dict:
        return {"key": self.key, "method_name": self.method_name,
                "inputs": [s.to_json() for s in self.inputs.values()],
                "outputs": [s.to_json() for s in self.outputs.values()]}


class MetaGraph:
    def __init__(self, model: "Model", proto: saved_model_pb2.MetaGraphDef):
        self.model = model
        self.proto = proto
        self.tags = tuple(proto.meta_info_def.tags)
        self.graph_def: graph_pb2.GraphDef = proto.graph_def
        self.functions = {f.signature.name: f for f in proto.graph_def.library.function}
        self.object_graph = proto.object_graph_def if proto.HasField("object_graph_def") else None
        self.signatures = {k: Signature(self, k, v) for k, v in sorted(proto.signature_def.items())}
        self._smlens_runtime = None  # runtime.state.Runtime: variables, tables, compiled functions (on first run)
        self._name_plans: dict = {}  # run() plans by (feeds, fetches, targets)

    @property
    def tag_string(self) -> str:
        return ",".join(self.tags)

    def run(self, feeds: dict[str, Any], fetches: list[str], targets: list[str] = ()) -> list[np.ndarray]:
        """Run the graph by tensor names, like TF1's Session.run: values for `feeds` ({'x:0': array}), the
        values of `fetches` (['probs:0', ...]; 'node' means 'node:0'), in order. `targets` names nodes run
        for their side effects only. For graphs without signatures (frozen GraphDef, `.meta`), and any
        tensor of a SavedModel graph. Plans are compiled once per (feeds, fetches, targets)."""
        compile_names = PLANNER["names"]
        if isinstance(fetches, str) or isinstance(targets, str):
            raise InputError("fetches and targets are lists of names")
        names = tuple(sorted(feeds))
        key = (names, tuple(fetches), tuple(targets))
        if key not in self._name_plans:
            self._name_plans[key] = compile_names(self, list(names), list(fetches), list(targets))
        return self._name_plans[key].run(feeds)

    def variable_key(self, object_node_id: int) -> str | None:
        """TF2: checkpoint key of the variable at SavedObjectGraph node `object_node_id` (the checkpoint's
        object graph shares node ids with the SavedModel's)."""
        ckpt = self.model.checkpoint
        og = ckpt.object_graph if ckpt else None
        if og is None or not 0 <= object_node_id < len(og.nodes):
            return None
        for attr in og.nodes[object_node_id].attributes:
            if attr.name == "VARIABLE_VALUE":
                return attr.checkpoint_key
        return None


class Model:
    """Whatever `smlens.open` found. `kind`: saved_model | checkpoint | meta_graph | graph_def."""

    def __init__(self, source: Source, kind: str):
        self.source = source
        self.kind = kind
        self.name = source.name
        self.saved_model: saved_model_pb2.SavedModel | None = None
        self.meta_graphs: list[MetaGraph] = []
        self.checkpoint: Bundle | tensor_slices.SliceCheckpoint | None = None
        self.fingerprint: checkpoint_pb2.FingerprintDef | None = None
        self.checkpoint_state: checkpoint_pb2.CheckpointState | None = None
        self.asset_dir = "assets"
        self._values: dict[str, np.ndarray] = {}

    @property
    def files(self) -> list[tuple[str, int]]:
        return [(p, self.source.size(p)) for p in self.source.list()]

    @property
    def tag_sets(self) -> list[tuple[str, ...]]:
        return [mg.tags for mg in self.meta_graphs]

    def meta_graph(self, tags=None) -> MetaGraph:
        """The MetaGraph with this tag-set ('serve', 'serve,gpu' or a sequence); None: the only one, else 'serve'."""
        if not self.meta_graphs:
            raise NotFoundError(f"{self.kind} has no graph", self.name)
        if tags is None:
            if len(self.meta_graphs) == 1:
                return self.meta_graphs[0]
            tags = ("serve",)
        if isinstance(tags, str):
            tags = tuple(t.strip() for t in tags.split(",") if t.strip())
        want = set(tags)
        for mg in self.meta_graphs:
            if set(mg.tags) == want:
                return mg
        have = "; ".join(mg.tag_string for mg in self.meta_graphs)
        raise NotFoundError(f"no MetaGraph with tag-set {','.join(tags)!r} (available: {have})", self.name)

    @property
    def signatures(self) -> dict[str, Signature]:
        return self.meta_graph().signatures

    @property
    def variables(self) -> dict[str, TensorEntry]:
        if self.checkpoint is None:
            return {}
        self.checkpoint.object_graph  # assigns object paths
        return self.checkpoint.entries

    def variable_value(self, key: str) -> np.ndarray:
        """A checkpoint tensor's value, read once and cached (the executor binds variables through this)."""
        if key not in self._values:
            if self.checkpoint is None:
                raise NotFoundError(f"variable {key!r}: the model has no checkpoint", self.name)
            self._values[key] = self.checkpoint.read(key)
        return self._values[key]

    def read_asset(self, filename: str) -> bytes:
        path = posixpath.join(self.asset_dir, posixpath.basename(filename))
        return self.source.read(path)


# ---------------------------------------------------------------- opening

def _is_version_dir(name: str) -> bool:
    return name.isdigit()


def _load_saved_model(source: Source, path: str) -> Model:
    m = Model(source, "saved_model")
    m.saved_model = savedmodel.read_saved_model(source, path)
    m.meta_graphs = [MetaGraph(m, mg) for mg in m.saved_model.meta_graphs]
    files = set(source.list())
    if "fingerprint.pb" in files:
        m.fingerprint = savedmodel.read_fingerprint(source, "fingerprint.pb")
    if "variables/variables.index" in files:
        m.checkpoint = Bundle(source, "variables/variables")
    return m


def _load_checkpoint(source: Source, prefix: str) -> Model:
    m = Model(source, "checkpoint")
    if prefix + ".index" in set(source.list()):
        m.checkpoint = Bundle(source, prefix)
    else:  # a V1 checkpoint: the prefix is the file itself (or its -NNNNN-of-NNNNN shards)
        m.checkpoint = tensor_slices.SliceCheckpoint(source, prefix)
    if source.size(prefix + ".meta") if (prefix + ".meta") in set(source.list()) else 0:
        m.meta_graphs = [MetaGraph(m, savedmodel.read_meta_graph(source, prefix + ".meta"))]
    return m


def _prefix_from_state(source: Source, state_path: str) -> tuple[str, checkpoint_pb2.CheckpointState]:
    state = checkpoint.read_checkpoint_state(source, state_path)
    base = posixpath.dirname(state_path)
    files = set(source.list())
    p = state.model_checkpoint_path
    for cand in (posixpath.normpath(posixpath.join(base, p)) if not p.startswith("/") else None,
                 posixpath.join(base, posixpath.basename(p)) if base else posixpath.basename(p)):
        if cand and (cand + ".index" in files or tensor_slices.shard_files(source, cand)):
            return cand, state
    raise NotFoundError(f"checkpoint file names {p!r}, but {posixpath.basename(p)}.index is not there",
                        display_path(source, state_path))


def open_source(source: Source, path: str = "") -> Model:
    """Find and load a model at `path` (a file or directory, '' = the root) inside `source`."""
    path = path.strip("/")
    files = source.list()
    fileset = set(files)
    if path in fileset:
        return _open_file(source, path)
    prefix = path + "/" if path else ""
    below = [f[len(prefix):] for f in files if f.startswith(prefix)]
    if not below:
        if path + ".index" in fileset or tensor_slices.shard_files(source, path):
            return _load_checkpoint(source, path)
        raise NotFoundError("no such file or directory", display_path(source, path))
    top = set(below)
    sub = SubSource(source, path) if path else source
    for name in ("saved_model.pb", "saved_model.pbtxt"):
        if name in top:
            return _load_saved_model(sub, name)
    versions = sorted({b.split("/", 1)[0] for b in below if "/" in b and _is_version_dir(b.split("/", 1)[0])
                       and b.split("/", 1)[1] in ("saved_model.pb", "saved_model.pbtxt")}, key=int)
    if versions:
        return open_source(sub, versions[-1])
    if "checkpoint" in top:
        prefix_path, state = _prefix_from_state(sub, "checkpoint")
        m = _load_checkpoint(sub, prefix_path)
        m.checkpoint_state = state
        return m
    indexes = sorted(b[:-6] for b in top if b.endswith(".index"))
    if len(indexes) == 1:
        return _load_checkpoint(sub, indexes[0])
    metas = sorted(b for b in top if b.endswith(".meta"))
    if len(metas) == 1:
        return _open_file(sub, metas[0])
    graphs = sorted(b for b in top if b.endswith(".pb"))
    if len(graphs) == 1:
        return _open_file(sub, graphs[0])
    if len(indexes) > 1:
        raise NotFoundError(f"several checkpoints here ({', '.join(indexes)}) and no `checkpoint` file: "
                            "name one prefix", display_path(source, path))
    # V1 checkpoints have no telltale name: table files at this level (one, or the shards of one prefix)
    v1 = [b for b in sorted(top) if "/" not in b and not b.endswith((".pb", ".pbtxt", ".txt", ".json"))][:20]
    v1 = [b for b in v1 if _is_table(sub, b)]
    prefixes = {re.sub(r"-\d{5}-of-\d{5}$", "", b) for b in v1}
    if len(prefixes) == 1:
        return _load_checkpoint(sub, prefixes.pop())
    raise NotFoundError("no SavedModel (saved_model.pb), checkpoint (.index) or graph (.meta/.pb) found",
                        display_path(source, path) or source.name)


def _open_file(source: Source, path: str) -> Model:
    name = posixpath.basename(path)
    parent = posixpath.dirname(path)
    sub = SubSource(source, parent) if parent else source
    if name in ("saved_model.pb", "saved_model.pbtxt"):
        return _load_saved_model(sub, name)
    if name.endswith(".index"):
        return _load_checkpoint(sub, name[:-6])
    if ".data-" in name:
        return _load_checkpoint(sub, name.split(".data-", 1)[0])
    if name == "checkpoint":
        prefix, state = _prefix_from_state(sub, name)
        m = _load_checkpoint(sub, prefix)
        m.checkpoint_state = state
        return m
    if name.endswith(".meta"):
        m = Model(sub, "meta_graph")
        m.meta_graphs = [MetaGraph(m, savedmodel.read_meta_graph(sub, name))]
        if name[:-5] + ".index" in set(sub.list()):
            m.checkpoint = Bundle(sub, name[:-5])
        return m
    if name.endswith((".pb", ".pbtxt")):
        m = Model(sub, "graph_def")
        graph = savedmodel.read_graph_def(sub, name)
        m.meta_graphs = [MetaGraph(m, saved_model_pb2.MetaGraphDef(graph_def=graph))]
        return m
    if _is_table(sub, name):
        return _load_checkpoint(sub, name)
    raise NotFoundError("not a model file (expected saved_model.pb, .pbtxt, .index, .meta, .pb, a checkpoint "
                        "state file or a V1 checkpoint)", display_path(source, path))


def _is_table(source: Source, path: str) -> bool:
    size = source.size(path)
    return size >= 48 and int.from_bytes(source.read(path, size - 8, 8), "little") == TABLE_MAGIC


def open(target: "str | os.PathLike | Source", path: str = "") -> Model:  # noqa: A001 - public API name
    """Open a SavedModel directory (or TF-Serving model dir), checkpoint prefix / `.index` / directory with
    a `checkpoint` file, `.meta` graph, frozen GraphDef `.pb`, or `saved_model.pbtxt`.
    `target` is a local path or a Source (then `path` selects a file/dir inside it)."""
    if not isinstance(target, (str, os.PathLike)):
        return open_source(target, path)
    p = os.fspath(target)
    if os.path.isdir(p):
        return open_source(DirSource(p), path)
    parent, base = os.path.split(os.path.abspath(p))
    if not os.path.isdir(parent):
        raise NotFoundError("no such file or directory", p)
    if base in ("saved_model.pb", "saved_model.pbtxt"):
        return open_source(DirSource(parent))  # the whole SavedModel directory (variables/, assets/)
    # a file, or a checkpoint prefix (`.index`, V1 shards) in this directory: no need to walk below it
    src = DirSource(parent, recursive=False)
    src.name = os.path.dirname(p) or "."
    try:
        return open_source(src, base)
    except NotFoundError as e:
        if e.path == display_path(src, base):
            raise NotFoundError("no such file or directory", p) from None
        raise
