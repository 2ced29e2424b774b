"""Exceptions raised by attn_opt."""

from __future__ import annotations


class AttnOptError(Exception):
    """Base class of every error attn_opt raises on purpose."""


class UnsupportedOperationError(AttnOptError):
    """A traced operation has no attn-dialect translation.

    ``op`` names the operation (``torch.cumsum``, ``call_module nn.GRU`` ...),
    ``source`` is the user's source line it came from when known.
    """

    def __init__(self, op: str, source: str | None, detail: str = "") -> None:
        self.op = op
        self.source = source
        self.detail = detail
        message = f"unsupported operation {op}"
        if detail:
            message += f": {detail}"
        message += f"\n  at {source}" if source else "\n  at <unknown source line>"
        super().__init__(message)


class EinopsError(AttnOptError, ValueError):
    """An invalid rearrange pattern or sizes (einops' own wording)."""


class ToolError(AttnOptError, RuntimeError):
    """attn-opt or attn-run is missing or failed."""
