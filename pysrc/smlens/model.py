"""A loaded model: SavedModel, checkpoint, `.meta` graph or frozen GraphDef, behind one interface."""
from __future__ import annotations

import os
import posixpath
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import dtypes, tensors
from .errors import InputError, NotFoundError
from .formats import checkpoint, savedmodel, tensor_slices
from .formats.bundle import Bundle, TensorEntry
from .formats.reader import CheckpointReader
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
    optional: bool = False             # input backed by a PlaceholderWithDefault: may be left out
    default: np.ndarray | None = None  # its default when that is a constant (None: computed in the graph)
    feed_dtype: dtypes.DType | None = None  # the placeholder's dtype where it disagrees with `dtype`

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
        out = {"key": self.key, "name": self.name, "dtype": self.dtype.name if self.dtype else None,
               "shape": None if self.shape is None else list(self.shape), "encoding": self.encoding}
        if self.optional:
            out["optional"] = True
            out["default"] = None if self.default is None else _default_json(self.default)
        if self.feed_dtype is not None:
            out["feed_dtype"] = self.feed_dtype.name
        return out


MAX_DEFAULT_VALUES = 16


def _default_json(value: np.ndarray) -> dict:
    """An optional input's default for display: dtype, shape and (small ones) the values."""
    values = None
    if value.size <= MAX_DEFAULT_VALUES:
        flat = [x.decode("utf-8", "replace") if isinstance(x, bytes) else x.item() if hasattr(x, "item") else x
                for x in value.reshape(-1)]
        values = [None if isinstance(x, float) and not np.isfinite(x) else x for x in flat]
    return {"dtype": dtypes.from_numpy(value.dtype).name if value.dtype != object else "string",
            "shape": list(value.shape), "values": values}


class Signature:
    """A SignatureDef; calling it runs the graph: sig(**inputs) -> {output key: ndarray}."""

    def __init__(self, meta_graph: "MetaGraph", key: str, proto: saved_model_pb2.SignatureDef):
        self.meta_graph = meta_graph
        self.key = key
        self.proto = proto
        self.method_name = proto.method_name
        self.inputs = {k: TensorSpec.from_proto(k, v) for k, v in sorted(proto.inputs.items())}
        self.outputs = {k: TensorSpec.from_proto(k, v) for k, v in sorted(proto.outputs.items())}
        self.warnings: list[str] = []
        self._resolve_placeholders()
        self._plan = None
        self._plan_generation = -1

    def _resolve_placeholders(self) -> None:
        """Inputs fed into a PlaceholderWithDefault are optional (TF runs without them); TF feeds by tensor
        name, so a placeholder whose dtype disagrees with the declared one gets values of its own dtype."""
        for spec in self.inputs.values():
            if spec.encoding != "name" or not spec.name:
                continue
            node_name, _, port = spec.name.partition(":")
            node = self.meta_graph.node_def(node_name)
            if node is None or port not in ("", "0") or node.op not in ("Placeholder", "PlaceholderWithDefault"):
                continue
            if node.op == "PlaceholderWithDefault":
                spec.optional = True
                spec.default = self.meta_graph.const_value(node.input[0] if node.input else "")
            enum = node.attr["dtype"].type if "dtype" in node.attr else 0
            if enum and spec.dtype is not None and enum != spec.dtype.enum:
                try:
                    spec.feed_dtype = dtypes.from_enum(enum)
                except Exception:  # noqa: BLE001 - an unknown enum: keep the declared dtype
                    continue
                self.warnings.append(
                    f"signature {self.key!r}: input {spec.key!r} is declared {spec.dtype.name}, but its placeholder "
                    f"{node_name!r} is {spec.feed_dtype.name}; feeding it as {spec.feed_dtype.name} (as TensorFlow "
                    "feeds by tensor name)")

    def plan(self):
        generation = PLANNER["generation"]()  # backends changed since the plan was compiled: compile again
        if self._plan is None or self._plan_generation != generation:
            self._plan_generation = generation
            self._plan = PLANNER["signature"](self)
            for w in self.warnings:
                warnings.warn(w, stacklevel=2)
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
        self._node_index: dict | None = None
        self.signatures = {k: Signature(self, k, v) for k, v in sorted(proto.signature_def.items())}
        self._smlens_runtime = None  # runtime.state.Runtime: variables, tables, compiled functions (on first run)
        self._name_plans: dict = {}  # run() plans by (feeds, fetches, targets)

    def node_def(self, name: str):
        """The GraphDef node of that name, or None."""
        if self._node_index is None:
            self._node_index = {n.name: n for n in self.graph_def.node}
        return self._node_index.get(name)

    def const_value(self, tensor_name: str) -> np.ndarray | None:
        """The value of a Const node's output (through Identity nodes), or None when it is not a constant."""
        for _ in range(8):
            node = self.node_def(tensor_name.lstrip("^").split(":")[0]) if tensor_name else None
            if node is None:
                return None
            if node.op == "Identity" and node.input:
                tensor_name = node.input[0]
                continue
            if node.op != "Const" or "value" not in node.attr:
                return None
            try:
                return tensors.to_numpy(node.attr["value"].tensor)
            except Exception:  # noqa: BLE001 - a malformed constant is simply not shown
                return None
        return None

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
        self.checkpoint: CheckpointReader | None = None   # V2 Bundle or V1 SliceCheckpoint
        self.fingerprint: checkpoint_pb2.FingerprintDef | None = None
        self.checkpoint_state: checkpoint_pb2.CheckpointState | None = None
        self.asset_dir = "assets"
        self._values: dict[str, np.ndarray] = {}
        self.prefetch_hint = None  # Callable[[], Iterable[str]]: variables to prefetch on the first read

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
            self._prefetch_variables(key)
            self._values[key] = self.checkpoint.read(key)
        return self._values[key]

    def _prefetch_variables(self, key: str) -> None:
        """On the first variable read, let the source fetch every variable the hint names at once (a
        remote source coalesces them into few range requests); `prefetch_hint` is set by whoever opened
        the model from such a source."""
        hint = self.prefetch_hint
        if hint is None or not hasattr(self.checkpoint, "prefetch"):
            return
        self.prefetch_hint = None
        keys = {key, *hint()} - set(self._values)
        self.checkpoint.prefetch(sorted(keys))

    def prefetch_variables(self, keys) -> None:
        """Let the source fetch these checkpoint tensors together (a remote source coalesces them into few
        range requests). A plan calls it with exactly the variables it reads, so the wider `prefetch_hint`
        is dropped: running one signature fetches only what that signature needs."""
        if self.checkpoint is None or not hasattr(self.checkpoint, "prefetch"):
            return
        self.prefetch_hint = None
        keys = sorted(set(keys) - set(self._values))
        if keys:
            self.checkpoint.prefetch(keys)

    def read_asset(self, filename: str) -> bytes:
        path = posixpath.join(self.asset_dir, posixpath.basename(filename))
        return self.source.read(path)


# ---------------------------------------------------------------- opening

def _is_version_dir(name: str) -> bool:
    return name.isdigit()


def _load_saved_model(source: Source, path: str) -> Model:
    m = Model(source, "saved_model")
    files = set(source.list())
    # The index first: it is small, and a broken one is reported before parsing saved_model.pb (which takes
    # seconds for a big model in Pyodide's pure-Python protobuf).
    if "variables/variables.index" in files:
        m.checkpoint = Bundle(source, "variables/variables")
    m.saved_model = savedmodel.read_saved_model(source, path)
    m.meta_graphs = [MetaGraph(m, mg) for mg in m.saved_model.meta_graphs]
    if "fingerprint.pb" in files:
        m.fingerprint = savedmodel.read_fingerprint(source, "fingerprint.pb")
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
        if e.path == display_path(src, base) and not os.path.exists(p):  # keep "not a model file" & co
            raise NotFoundError("no such file or directory", p) from None
        raise


# ---------------------------------------------------------------- what can be opened here

SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
_NOT_V1 = (".pb", ".pbtxt", ".txt", ".json", ".index", ".meta", ".npz", ".npy", ".md", ".png", ".jpg")
MAX_V1_PROBES = 64   # table-footer reads when looking for V1 checkpoints (they have no telltale name)


def find_candidates(source: Source) -> list[dict]:
    """Everything in `source` that open_source can open, each {"path", "kind", "label"} with the path to
    pass to open_source: SavedModel folders, V2 checkpoints (their .index), V1 checkpoints (a table file,
    or the prefix of its -NNNNN-of-NNNNN shards), .meta graphs (a checkpoint beside its .meta is listed
    once, as the .meta), frozen GraphDefs. The one "what can be opened here" ladder (the page's model
    dropdown lists it)."""
    paths = source.list()
    sm_dirs = sorted({posixpath.dirname(p) for p in paths if posixpath.basename(p) in SAVED_MODEL_FILES})
    out = [{"path": d, "kind": "saved_model", "label": f"SavedModel {d or '(top folder)'}"} for d in sm_dirs]

    def inside_saved_model(p: str) -> bool:
        return any(d == "" or p.startswith(d + "/") for d in sm_dirs)

    v1_prefixes: set[str] = set()
    probes = 0
    for p in sorted(paths):
        if inside_saved_model(p):
            continue
        base = posixpath.basename(p)
        if base.endswith(".index"):
            out.append({"path": p, "kind": "checkpoint", "label": f"checkpoint {p[:-6]}"})
        elif base.endswith(".meta"):
            out.append({"path": p, "kind": "meta_graph", "label": f"MetaGraph {p}"})
        elif base.endswith(".pb") and base not in ("fingerprint.pb", "keras_metadata.pb"):
            out.append({"path": p, "kind": "graph_def", "label": f"GraphDef {p}"})
        elif (base != "checkpoint" and ".data-" not in base and not base.endswith(_NOT_V1)
              and probes < MAX_V1_PROBES):
            probes += 1
            if _is_table(source, p):
                v1_prefixes.add(re.sub(r"-\d{5}-of-\d{5}$", "", p))
    out += [{"path": p, "kind": "checkpoint", "label": f"V1 checkpoint {p}"} for p in sorted(v1_prefixes)]
    metas = {c["path"][:-5] for c in out if c["kind"] == "meta_graph"}
    return [c for c in out if not (c["kind"] == "checkpoint" and c["path"].endswith(".index")
                                   and c["path"][:-6] in metas)]


def opened_candidate(model: Model, opened_path: str, candidates: list[dict]) -> str | None:
    """Which of `candidates` the model opened at `opened_path` is (a folder resolves to the checkpoint
    its `checkpoint` file names, or to the newest TF-Serving version)."""
    paths = {c["path"] for c in candidates}
    if opened_path in paths:
        return opened_path
    base = opened_path.strip("/")
    if model.checkpoint is not None:
        prefix = posixpath.join(base, model.checkpoint.prefix) if base else model.checkpoint.prefix
        for cand in (prefix + ".meta", prefix + ".index", prefix):
            if cand in paths:
                return cand
    dirs = [c["path"] for c in candidates if c["kind"] == "saved_model"
            and (c["path"] == base or c["path"].startswith(base + "/") or not base)]
    if model.kind == "saved_model" and dirs:
        return max(dirs, key=lambda d: [int(x) if x.isdigit() else -1 for x in d.split("/")])
    return None
