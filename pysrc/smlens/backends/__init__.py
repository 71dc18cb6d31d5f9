"""Backends: where a compiled step runs (numpy everywhere; native where its C library is built; wasm and
webgpu in the browser).

The contract every backend follows is in `base.py`; the compiler's placement pass asks each enabled
backend, in order of preference, for a kernel and falls back to NumPy.
"""
