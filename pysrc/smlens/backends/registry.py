"""Which backends run a plan's steps, in order of preference.

    from smlens.backends import registry
    registry.register(my_backend)              # any object with the `base.Backend` interface
    registry.set_preference(["wasm", "numpy"])  # module-wide; or env SMLENS_BACKENDS=wasm,numpy
    registry.resolve()                         # -> [wasm backend, numpy backend]

A plan may also name its own list (`CompileOptions(backends=[...])`). NumPy is always the last resort:
`resolve` appends it when a list leaves it out. Names not registered are skipped (a backend that could
not start in this environment simply is not there). The state is kept by `runtime/backend_registry.py`.
"""
from __future__ import annotations

from ..runtime.backend_registry import (ENV_VAR, available, fallback, generation, get, preference, register, resolve,
                                        set_preference, unregister)
from . import native
from .numpy_backend import NUMPY

register(NUMPY)
if native.BACKEND is not None:  # natively, where build.py built the library: preferred by default
    register(native.BACKEND)

__all__ = ["ENV_VAR", "available", "fallback", "generation", "get", "preference", "register", "resolve", "set_preference",
           "unregister", "NUMPY"]
