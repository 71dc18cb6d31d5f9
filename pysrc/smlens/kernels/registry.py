"""The op registry, as kernel modules import it (`from .registry import op, REQUIRED`). It lives in
`runtime/opregistry.py`: the runtime (a layer below the kernels) compiles plans against it."""
from ..runtime.opregistry import (KERNELS, REQUIRED, Buffers, FuncAttr, OpContext, OpSpec, alias, bind_attrs,
                                  decode_attr, grouping, op, prepare, takes_buffers)

__all__ = ["KERNELS", "REQUIRED", "Buffers", "FuncAttr", "OpContext", "OpSpec", "alias", "bind_attrs",
           "decode_attr", "grouping", "op", "prepare", "takes_buffers"]
