"""Which backends run a plan's steps, in order of preference (public face: `smlens.backends.registry`).

The state lives here, in the runtime layer the compiler belongs to; backends (a layer above) register
themselves. The fallback backend (NumPy, registered by `smlens.backends`) runs every step no other
backend takes, and every step with a fixed host callable.
"""
from __future__ import annotations

import os

from ..backends.base import Backend

ENV_VAR = "SMLENS_BACKENDS"
FALLBACK = "numpy"
DEFAULT = ("native", FALLBACK)  # natively, where the native library is built (else it is not registered)

_backends: dict = {}
_preference: list | None = None
_generation = 0  # bumped whenever the set of backends or the preference changes: cached plans are stale then


def generation() -> int:
    """Changes whenever what `resolve()` returns may change (plans compiled before are then recompiled)."""
    return _generation


def _changed() -> None:
    global _generation
    _generation += 1


def register(backend: Backend) -> None:
    """Make a backend available by its `name` (replacing one of the same name)."""
    for attr in ("name", "host", "kernel", "upload", "download", "free"):
        if not hasattr(backend, attr):
            raise TypeError(f"a backend needs {attr!r}; {type(backend).__name__} has none")
    _backends[backend.name] = backend
    _changed()


def unregister(name: str) -> None:
    if name == FALLBACK:
        raise ValueError("the numpy backend cannot be removed (it is every step's fallback)")
    _backends.pop(name, None)
    _changed()


def get(name: str) -> Backend | None:
    return _backends.get(name)


def fallback() -> Backend:
    b = _backends.get(FALLBACK)
    if b is None:
        raise RuntimeError("the numpy backend is not registered (import smlens, not smlens.runtime alone)")
    return b


def available() -> list:
    return list(_backends)


def set_preference(names: list | None) -> None:
    """Backends to try for each step, first to last (None: back to the environment's / the default)."""
    global _preference
    _preference = None if names is None else [str(n) for n in names]
    _changed()


def preference() -> list:
    if _preference is not None:
        return list(_preference)
    env = os.environ.get(ENV_VAR, "")
    return [n.strip() for n in env.split(",") if n.strip()] or [n for n in DEFAULT if n in _backends or n == FALLBACK]


def resolve(names: list | None = None) -> list:
    """The registered backends named (default: `preference()`), NumPy last."""
    out: list = []
    for n in (preference() if names is None else names):
        b = _backends.get(n)
        if b is not None and b not in out:
            out.append(b)
    if fallback() not in out:
        out.append(fallback())
    return out
