"""attn_opt: PyTorch attention models -> attn-dialect MLIR -> native code.

    >>> import attn_opt
    >>> text = attn_opt.to_mlir(model, (x,))        # attn-dialect MLIR (torch.export)
    >>> fn = attn_opt.compile(model, (x,))          # native code via attn-run
    >>> y = fn(x)
    >>> attn_opt.explain(model, (x,))               # what fused, what did not and why
    >>> torch.compile(model, backend="attn_opt")    # partitions what attn-opt cannot compile

See the README's Python section.
"""

from einops import EinopsError, rearrange

from .capture import to_mlir
from .errors import AttnOptError, CaptureError, ToolError, UnsupportedOperationError
from .explain import Explanation, Remark, explain
from .runtime import CompiledModule, compile, find_tool
from . import backend as _backend

_backend.register()

__all__ = [
    "AttnOptError",
    "CaptureError",
    "CompiledModule",
    "EinopsError",
    "Explanation",
    "Remark",
    "ToolError",
    "UnsupportedOperationError",
    "compile",
    "explain",
    "find_tool",
    "rearrange",
    "to_mlir",
]
