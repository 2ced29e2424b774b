"""attn_opt: PyTorch attention modules -> attn-dialect MLIR -> compiled callables.

    >>> import attn_opt
    >>> text = attn_opt.to_mlir(module, (x,))          # attn-dialect MLIR
    >>> fn = attn_opt.compile(module, (x,))            # native code via attn-run
    >>> y = fn(x)
    >>> attn_opt.compile(nn.MultiheadAttention(64, 4), (x, x, x, None, False),
    ...                  tracer="aten")                  # PyTorch's own modules

See python/README.md.
"""

from .errors import AttnOptError, EinopsError, ToolError, UnsupportedOperationError
from .frontend import to_mlir
from .rearrange import rearrange
from .runtime import CompiledModule, compile, find_tool

__all__ = [
    "AttnOptError",
    "CompiledModule",
    "EinopsError",
    "ToolError",
    "UnsupportedOperationError",
    "compile",
    "find_tool",
    "rearrange",
    "to_mlir",
]
