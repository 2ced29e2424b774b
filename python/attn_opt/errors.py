"""Exceptions raised by attn_opt."""

from __future__ import annotations


class AttnOptError(Exception):
    """Base class of every error attn_opt raises on purpose."""


class UnsupportedOperationError(AttnOptError):
    """A captured operation has no attn-dialect translation.

    ``op`` names the operation (``aten.cumsum.default``), ``source`` is the
    user's source line it came from when known, ``detail`` why it failed.
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


class CaptureError(AttnOptError, RuntimeError):
    """torch.export could not capture the model (data-dependent control
    flow, an unsupported Python construct, a bad pattern in einops ...)."""

    def __init__(self, message: str, source: str | None = None) -> None:
        self.source = source
        super().__init__(message + (f"\n  at {source}" if source else ""))


class ToolError(AttnOptError, RuntimeError):
    """attn-opt or attn-run is missing or failed."""
