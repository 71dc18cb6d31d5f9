"""Compile options: which graph passes run and which backends a plan may use.

Passes are switched off by name with the environment variable SMLENS_DISABLE_PASSES (comma-separated, e.g.
`fold_bn,fuse_epilogue`; `all` switches every optional pass off) or per plan with
`CompileOptions(disabled_passes=...)`. Backends: `CompileOptions(backends=[...])`, else the backend
registry's preference (`smlens.backends.registry.set_preference`, env SMLENS_BACKENDS).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

DISABLE_ENV = "SMLENS_DISABLE_PASSES"


@dataclass(frozen=True)
class CompileOptions:
    disabled_passes: frozenset = frozenset()
    backends: tuple | None = None   # backend names in order of preference; None: the registry's
    from_env: bool = True           # also honour SMLENS_DISABLE_PASSES

    def disabled(self) -> frozenset:
        names = set(self.disabled_passes)
        if self.from_env:
            names.update(n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip())
        return frozenset(names)

    def key(self) -> tuple:
        return (tuple(sorted(self.disabled())), self.backends)


DEFAULT = CompileOptions()


def options(disabled_passes=(), backends=None) -> CompileOptions:
    return CompileOptions(frozenset(disabled_passes), None if backends is None else tuple(backends))
