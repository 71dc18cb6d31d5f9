"""Running a compiled straight-line program: a loop over prepared steps.

A step is a tuple (fn, in_slots, outs, frees, node_index):
- fn: the kernel with its attrs (and OpContext) bound; called with the input values positionally;
- in_slots: value slots read;
- outs: the slot of output 0 (an int) when only output 0 is used, else a tuple of (port, slot) pairs;
- frees: slots whose last use is this step (set to None afterwards, so intermediates are freed early).
`template` holds constants (folded at compile time) in their slots; feeds are written into their slots.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..errors import ExecutionError, SmlensError


class StepInfo:
    """What an error message says about a step."""
    __slots__ = ("name", "op", "where", "backend")

    def __init__(self, name: str, op: str, where: str, backend: str = "numpy"):
        self.name = name
        self.op = op
        self.where = where
        self.backend = backend


def kernel_error(info: StepInfo, exc: BaseException) -> SmlensError:
    """The error to raise for a failed step: names node, op type and function once (errors raised by
    nested steps already carry their own node and pass through unchanged)."""
    if getattr(exc, "smlens_node", None):
        return exc  # type: ignore[return-value]
    if isinstance(exc, SmlensError):
        cls, msg = type(exc), str(exc)
    else:
        cls, msg = ExecutionError, ("out of memory" if isinstance(exc, MemoryError)
                                    else str(exc) or type(exc).__name__)
    err = cls(f"{info.where}: node {info.name!r} ({info.op}): {msg}")
    err.smlens_node = info.name
    return err


class StaticProgram:
    """A program without v1 control flow: steps in topological order."""

    def __init__(self, template: list, steps: list[tuple], infos: list[StepInfo], feed_slots: list[int],
                 fetch_slots: list[int], where: str):
        self.template = template
        self.steps = steps
        self.infos = infos
        self.feed_slots = feed_slots
        self.fetch_slots = fetch_slots
        self.where = where
        self.summary: list = []  # (pass, steps before, steps after), from the compiler

    def run(self, feeds: Sequence[Any]) -> list:
        vals = self.template[:]
        for slot, v in zip(self.feed_slots, feeds):
            vals[slot] = v
        step = None
        try:
            for step in self.steps:
                fn, ins, outs, frees, _ = step
                r = fn(*[vals[i] for i in ins])
                if outs.__class__ is int:
                    vals[outs] = r[0] if r.__class__ is tuple or r.__class__ is list else r
                elif outs:
                    if r.__class__ is not tuple and r.__class__ is not list:
                        r = (r,)
                    for port, slot in outs:
                        vals[slot] = r[port]
                for f in frees:
                    vals[f] = None
        except Exception as e:  # noqa: BLE001 - any kernel failure becomes an ExecutionError
            if step is None:
                raise
            err = kernel_error(self.infos[step[4]], e)
            if err is e:
                raise
            raise err from e
        return [vals[s] for s in self.fetch_slots]

    def __len__(self) -> int:
        return len(self.steps)
