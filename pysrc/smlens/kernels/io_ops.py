"""File kernels. ReadFile reads the model's assets only (a SavedModel reads its asset files at run time,
e.g. a vocabulary or label file passed through tf.saved_model.Asset); any other path is refused: a model
must not read the host's files."""
from __future__ import annotations

import numpy as np

from ..errors import ExecutionError
from .registry import op


@op("ReadFile", inputs=["filename"], ctx=True, stateful=True)
def read_file(ctx, filename):
    name = np.asarray(filename)
    if name.ndim != 0:
        raise ExecutionError(f"ReadFile: Input filename tensor must be scalar, but had shape: {list(name.shape)}")
    out = np.empty((), dtype=object)
    out[()] = ctx.runtime.read_asset(name)
    return out
