"""Library functions (FunctionDef) compiled once per (name, attrs) into callable plans."""
from __future__ import annotations

from typing import Any, Sequence

from ..errors import ExecutionError, NotFoundError
from .compiler import Compiler, freeze
from .graphs import function_body
from .opregistry import FuncAttr


class FunctionPlan:
    """One instantiated function: call(args) -> list of outputs (flat, in output-arg order)."""

    def __init__(self, name: str, program, n_args: int, missing: list, output_names: list[str]):
        self.name = name
        self.program = program
        self.n_args = n_args
        self.missing = missing
        self.output_names = output_names

    def call(self, args: Sequence[Any]) -> list:
        if len(args) != self.n_args:
            raise ExecutionError(f"function {self.name!r} takes {self.n_args} inputs, got {len(args)}")
        return self.program.run(args)

    def call_flat(self, *args: Any) -> list:
        return self.call(args)

    def __repr__(self) -> str:
        return f"FunctionPlan({self.name!r}, {len(self.program)} steps)"


class FunctionCache:
    """Compiled functions of one runtime. A function being compiled (recursion) is returned as None."""

    def __init__(self, rt):
        self.rt = rt
        self._plans: dict[Any, FunctionPlan] = {}
        self._in_progress: set = set()

    def get(self, fattr: FuncAttr, where: str = "") -> FunctionPlan | None:
        key = (fattr.name, freeze(fattr.attrs)) if fattr.attrs else fattr.name
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        if key in self._in_progress:
            return None
        fdef = self.rt.library.get(fattr.name)
        if fdef is None:
            raise NotFoundError(f"{where + ': ' if where else ''}function {fattr.name!r} is not in the "
                                "function library")
        self._in_progress.add(key)
        try:
            body = function_body(fdef, dict(fattr.attrs), self.rt.library)
            feeds = [(a, i) for a in body.args for i in range(body.nodes[a].num_ports)]
            compiled = Compiler(self.rt, body, feeds, body.outputs, body.control_outputs).compile()
        finally:
            self._in_progress.discard(key)
        plan = FunctionPlan(fattr.name, compiled.program, len(feeds), compiled.missing, body.output_names)
        self._plans[key] = plan
        return plan

    def __len__(self) -> int:
        return len(self._plans)
