"""The one interface both checkpoint readers offer: the V2 tensor bundle (formats.bundle.Bundle, a
`.index` table plus `.data-NNNNN-of-NNNNN` shards) and the V1 TensorSliceReader format
(formats.tensor_slices.SliceCheckpoint, one or more LevelDB tables). Code above formats (model, views,
webapi, cli) uses only what is declared here, so it works the same for both."""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from ..proto import checkpoint_pb2
    from .bundle import TensorEntry


@runtime_checkable
class CheckpointReader(Protocol):
    prefix: str                          # the checkpoint's prefix (V2) or file path (V1), as given
    display: str                         # how error messages name it
    entries: dict[str, TensorEntry]      # every tensor, sorted by name; values are read on demand

    @property
    def format_version(self) -> str:     # "V2" (tensor bundle) or "V1" (tensor slices)
        ...

    @property
    def num_shards(self) -> int:         # data shards (V2) or files (V1)
        ...

    @property
    def object_graph(self) -> checkpoint_pb2.TrackableObjectGraph | None:   # TF2 object graph, if any
        ...

    def read(self, name: str) -> np.ndarray:
        ...
