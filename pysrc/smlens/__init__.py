"""SavedModel Lens: inspect and run TensorFlow SavedModels and checkpoints without TensorFlow."""
from . import errors, limits, sources
from .errors import SmlensError
from .model import MetaGraph, Model, Signature, TensorSpec, open

# Wiring of the layers (the package root sits on top of them all): the kernels fill the op registry,
# the NumPy backend registers itself, and the model compiles its plans with the runtime.
from . import backends as _backends, kernels as _kernels, model as _model  # noqa: E402,F401
from .backends import registry as _backend_registry  # noqa: E402,F401
from .runtime import plan as _plan  # noqa: E402

_model.PLANNER.update(signature=_plan.compile_signature, names=_plan.compile_names,
                     generation=_backend_registry.generation)

__version__ = "0.1.0"
__all__ = ["open", "Model", "MetaGraph", "Signature", "TensorSpec", "SmlensError", "errors", "limits", "sources"]
