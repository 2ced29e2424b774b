"""Unsupported operations fail loudly, naming the op and the user's source line."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import attn_opt


class UsesCumsum(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        return torch.cumsum(y, dim=-1)  # the line the error must name


class UsesConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).softmax(-1)


def test_unsupported_function_names_op_and_line() -> None:
    with pytest.raises(attn_opt.UnsupportedOperationError) as info:
        attn_opt.to_mlir(UsesCumsum(), (torch.randn(2, 3),))
    message = str(info.value)
    assert "torch.cumsum" in message
    assert "test_errors.py" in message and "return torch.cumsum(y, dim=-1)" in message
    assert info.value.op == "torch.cumsum"


def test_unsupported_module_is_named() -> None:
    with pytest.raises(attn_opt.UnsupportedOperationError) as info:
        attn_opt.to_mlir(UsesConv(), (torch.randn(1, 4, 8),))
    assert "Conv1d" in str(info.value)
    assert "return self.conv(x).softmax(-1)" in str(info.value)


def test_unsupported_is_never_a_silent_fallback() -> None:
    class Sorts(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.sort(x, dim=-1).values

    with pytest.raises(attn_opt.UnsupportedOperationError, match="torch.sort"):
        attn_opt.to_mlir(Sorts(), (torch.randn(2, 3),))


def test_compile_rejects_unknown_target() -> None:
    with pytest.raises(ValueError, match="only 'cpu'"):
        attn_opt.compile(nn.Identity(), (torch.randn(2),), target="tpu")
