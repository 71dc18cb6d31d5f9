"""SavedModel Lens: inspect and run TensorFlow SavedModels and checkpoints without TensorFlow."""
from . import errors, limits, sources
from .errors import SmlensError
from .model import MetaGraph, Model, Signature, TensorSpec, open

__version__ = "0.1.0"
__all__ = ["open", "Model", "MetaGraph", "Signature", "TensorSpec", "SmlensError", "errors", "limits", "sources"]
