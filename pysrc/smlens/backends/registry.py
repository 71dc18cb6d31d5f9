"""Which backends run a plan's steps, in order of preference.

    from smlens.backends import registry
    registry.register(my_backend)              # any object with the `base.Backend` interface
    registry.set_preference(["wasm", "numpy"])  # module-wide; or env SMLENS_BACKENDS=wasm,numpy
    registry.resolve()                         # -> [wasm backend, numpy backend]

A plan may also name its own list (`CompileOptions(backends=[...])`). NumPy is always the last resort:
`resolve` appends it when a list leaves it out. Names not registered are skipped (a backend that could
not start in this environment simply is not there).
"""
from __future__ import annotations

import os

from .base import Backend
from .numpy_backend import NUMPY

ENV_VAR = "SMLENS_BACKENDS"

_backends: dict[str, Backend] = {NUMPY.name: NUMPY}
_preference: list[str] | None = None


def register(backend: Backend) -> None:
    """Make a backend available by its `name` (replacing one of the same name)."""
    for attr in ("name", "host", "kernel", "upload", "download", "free"):
        if not hasattr(backend, attr):
            raise TypeError(f"a backend needs {attr!r}; {type(backend).__name__} has none")
    _backends[backend.name] = backend


def unregister(name: str) -> None:
    if name == NUMPY.name:
        raise ValueError("the numpy backend cannot be removed (it is every step's fallback)")
    _backends.pop(name, None)


def get(name: str) -> Backend | None:
    return _backends.get(name)


def available() -> list[str]:
    return list(_backends)


def set_preference(names: list[str] | None) -> None:
    """Backends to try for each step, first to last (None: back to the environment's / the default)."""
    global _preference
    _preference = None if names is None else [str(n) for n in names]


def preference() -> list[str]:
    if _preference is not None:
        return list(_preference)
    env = os.environ.get(ENV_VAR, "")
    return [n.strip() for n in env.split(",") if n.strip()] or [NUMPY.name]


def resolve(names: list[str] | None = None) -> list[Backend]:
    """The registered backends named (default: `preference()`), NumPy last."""
    out: list[Backend] = []
    for n in (preference() if names is None else names):
        b = _backends.get(n)
        if b is not None and b not in out:
            out.append(b)
    if NUMPY not in out:
        out.append(NUMPY)
    return out
