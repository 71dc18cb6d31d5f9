"""The runtime of one loaded MetaGraph: resources (variables, tables), compiled functions, variable and
asset bindings, and the SavedModel init op (run once before the first signature run)."""
from __future__ import annotations

import posixpath
from typing import Any

import numpy as np

from ..errors import ExecutionError, NotFoundError, UnsupportedError
from .binding import Binding
from .compiler import Compiler
from .functions import FunctionCache, FunctionPlan
from .graphs import Body, graph_body, parse_graph_input
from .opregistry import FuncAttr, OpContext
from .options import DEFAULT, CompileOptions
from .resources import ResourceManager

INIT_OP_SIGNATURE = "__saved_model_init_op"

def get_runtime(meta_graph) -> "Runtime":
    """The MetaGraph's runtime, created on first use and kept on the MetaGraph (so it lives as long as the
    loaded model: variables keep their values between runs)."""
    rt = meta_graph._smlens_runtime
    if rt is None:
        rt = Runtime(meta_graph)
        meta_graph._smlens_runtime = rt
    return rt


class Runtime:
    def __init__(self, meta_graph):
        self.meta_graph = meta_graph
        self.model = meta_graph.model
        self.library: dict = meta_graph.functions
        self.resources = ResourceManager()
        self.functions = FunctionCache(self)
        self._body: Body | None = None
        self._binding: Binding | None = None
        self._random: list[tuple[OpContext, int, int]] = []
        self.graph_contexts: dict[str, OpContext] = {}  # OpContexts of graph nodes, shared by all plans
        self._init_program = None
        self._init_missing: list | None = None
        self.initialized = False
        self.run_count = 0
        self.options = DEFAULT                   # compile options of function plans and default plans
        self.unstable_variables: set = set()     # variables whose folded reads went stale once

    # ---- graph and bindings
    @property
    def graph(self) -> Body:
        if self._body is None:
            self._body = graph_body(self.meta_graph.graph_def, self.library)
        return self._body

    @property
    def binding(self) -> Binding:
        if self._binding is None:
            self._binding = Binding(self.meta_graph)
        return self._binding

    def variable_key(self, node_name: str, shared_name: str) -> str | None:
        return self.binding.key_for(node_name, shared_name)

    def load_variable(self, key: str) -> np.ndarray:
        v = self.model.variable_value(key)
        if isinstance(v, np.ndarray) and v.dtype != object:
            v.flags.writeable = False
        return v

    def read_asset(self, path: Any) -> bytes:
        """Contents of an asset file named by `path` (only files in the model's assets/ are readable)."""
        if isinstance(path, np.ndarray):
            path = path.reshape(-1)[0] if path.size == 1 else path
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        if not isinstance(path, str) or not path:
            raise ExecutionError(f"asset path must be a non-empty string, got {path!r}")
        name = posixpath.basename(path.replace("\\", "/"))
        try:
            return self.model.read_asset(name)
        except NotFoundError:
            raise ExecutionError(f"file {path!r} is not one of the model's assets") from None

    # ---- functions
    def function(self, fattr: FuncAttr, where: str = "") -> FunctionPlan | None:
        return self.functions.get(fattr, where)

    def call(self, fattr: FuncAttr, args) -> list:
        plan = self.functions.get(fattr)
        if plan is None:
            raise ExecutionError(f"function {fattr.name!r} is still being compiled (recursive call)")
        return plan.call(args)

    # ---- random ops: one generator per op, reseeded from (seed, seed2) at every top-level run
    def register_random(self, ctx: OpContext, attrs: dict) -> None:
        seed, seed2 = int(attrs.get("seed", 0) or 0), int(attrs.get("seed2", 0) or 0)
        self._random.append((ctx, seed, seed2))
        ctx.rng = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, seed2 & 0xFFFFFFFFFFFFFFFF])

    def begin_run(self) -> None:
        self.run_count += 1
        if self.run_count > 1:
            for ctx, seed, seed2 in self._random:
                ctx.rng = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, seed2 & 0xFFFFFFFFFFFFFFFF])

    # ---- compiling graph-level programs
    def compile_graph(self, feeds: list, fetches: list, targets: list, require_feeds: bool = True,
                      options: CompileOptions | None = None):
        overrides = self.binding.asset_values()
        return Compiler(self, self.graph, feeds, fetches, targets, overrides, require_feeds, options).compile()

    # ---- init op
    def init_targets(self) -> list[str]:
        mg = self.meta_graph
        sig = mg.signatures.get(INIT_OP_SIGNATURE)
        if sig is not None:
            return [parse_graph_input(s.name)[0] for s in sig.outputs.values() if s.name]
        for key in ("saved_model_main_op", "legacy_init_op"):
            coll = mg.proto.collection_def.get(key)
            if coll is not None and coll.WhichOneof("kind") == "node_list" and coll.node_list.value:
                return [parse_graph_input(v.lstrip("^"))[0] for v in coll.node_list.value]
        return []

    def init_missing(self) -> list:
        """Compile the init op (once); its missing kernels."""
        if self._init_missing is None:
            targets = [t for t in self.init_targets() if t in self.graph.nodes]
            if targets:
                compiled = self.compile_graph([], [], targets, require_feeds=False)
                self._init_program, self._init_missing = compiled.program, compiled.missing
            else:
                self._init_missing = []
        return self._init_missing

    def ensure_initialized(self) -> None:
        if self.initialized:
            return
        missing = self.init_missing()
        if missing:
            raise UnsupportedError(missing_message(missing, "the init op"))
        if self._init_program is not None:
            self._init_program.run([])
        self.initialized = True


def missing_message(missing: list[tuple[str, str, str]], what: str) -> str:
    ops = sorted({m[0] for m in missing})
    lines = [f"{what} uses {len(ops)} op type{'s' if len(ops) != 1 else ''} without a kernel: {', '.join(ops)}"]
    for op in ops:
        where = [f"{node!r} in {w}" for o, node, w in missing if o == op]
        more = f" and {len(where) - 3} more" if len(where) > 3 else ""
        lines.append(f"  {op}: {'; '.join(where[:3])}{more}")
    return "\n".join(lines)
