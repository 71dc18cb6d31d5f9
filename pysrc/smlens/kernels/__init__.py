"""All kernels, by category. Importing this package fills `registry.KERNELS`.

Find an op's kernel: `smlens ops` lists op type -> module; or grep for `@op("OpName"`.
"""
import importlib

from .registry import KERNELS, REQUIRED, FuncAttr, OpContext, OpSpec, op

_MODULES = [
    "math_ops", "reduction_ops", "nn_ops", "array_ops", "gather_ops", "segment_ops", "matrix_diag_ops",
    "ragged_ops", "image_ops", "codec_ops", "string_ops", "unicode_ops", "special_ops", "set_ops", "sparse_ops", "parsing_ops",
    "random_ops", "spectral_ops",
    "linalg_ops", "control_ops", "resource_ops", "table_ops", "list_ops", "tfjs_ops", "rnn_ops", "ctc_ops",
    "quantize_ops", "audio_ops", "io_ops",
]

for _m in _MODULES:
    importlib.import_module(f"{__name__}.{_m}")

from .ftz import install as _install_ftz  # noqa: E402 - after every kernel is registered

_install_ftz(KERNELS)  # TF's CPU numerics: denormals flushed to zero (see ftz.py)

__all__ = ["KERNELS", "REQUIRED", "FuncAttr", "OpContext", "OpSpec", "op"]
