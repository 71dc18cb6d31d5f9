"""Graph passes over a StepGraph, run in order between lowering and emitting.

Each optional pass can be switched off by name (`CompileOptions.disabled_passes`, env
SMLENS_DISABLE_PASSES); `div_by_constant` (TensorFlow's own rewrite, needed for bit parity) and
`placement` always run. `run_passes` records the step count before and after each pass in `g.summary`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..ir import StepGraph
from . import (dead_steps, div_by_constant, fold_bn, fold_constants, fold_pad, fold_variables, fuse_epilogue,
               inline, placement)


@dataclass
class PassContext:
    compiler: Any          # the Compiler of this body (runtime, library, lowering of callees)
    disabled: frozenset
    backends: list         # resolved Backend objects, in order of preference


# (name, function, optional)
PIPELINE: list[tuple[str, Callable, bool]] = [
    ("inline", inline.run, True),
    ("fold_constants", fold_constants.run, True),
    ("fold_variables", fold_variables.run, True),
    ("fold_constants", fold_constants.run, True),
    ("div_by_constant", div_by_constant.run, False),
    ("fold_pad", fold_pad.run, True),
    ("fold_bn", fold_bn.run, True),
    ("fuse_epilogue", fuse_epilogue.run, True),
    ("dead_steps", dead_steps.run, True),
    ("placement", placement.run, False),
]
OPTIONAL = sorted({name for name, _, optional in PIPELINE if optional})


def run_passes(g: StepGraph, ctx: PassContext, until: str | None = None) -> StepGraph:
    for name, fn, optional in PIPELINE:
        if name == until:
            break
        if optional and name in ctx.disabled:
            continue
        before = len(g.steps)
        fn(g, ctx)
        g.summary.append((name, before, len(g.steps)))
    return g
