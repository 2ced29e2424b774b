"""Bad input fails loudly and first: the unsupported op or the capture
problem, with the user's source line; never a silent fallback or a buried
chained exception."""

from __future__ import annotations

import einops
import pytest
import torch
import torch.nn as nn

import attn_opt


class Sorts(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        return torch.sort(y, dim=-1).values  # the line the error must name


def test_unsupported_op_names_itself_and_the_line() -> None:
    with pytest.raises(attn_opt.UnsupportedOperationError) as info:
        attn_opt.to_mlir(Sorts(), (torch.randn(2, 3),))
    message = str(info.value)
    assert message.startswith("unsupported operation aten.sort")
    assert "test_errors.py" in message and "return torch.sort(y, dim=-1).values" in message
    assert info.value.op.startswith("aten.sort")
    assert info.value.__cause__ is None and info.value.__context__ is None


class DataDependent(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # control flow on data: torch.export cannot capture it
            return x + 1
        return x - 1


def test_data_dependent_control_flow_is_one_clear_error() -> None:
    with pytest.raises(attn_opt.CaptureError) as info:
        attn_opt.to_mlir(DataDependent(), (torch.randn(3),))
    message = str(info.value)
    assert message.startswith("torch.export could not capture the model")
    assert "if x.sum() > 0" in message or "test_errors.py" in message
    assert info.value.__cause__ is None


class BadPattern(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return einops.rearrange(x, "b n (h d) -> b h n d", h=5)  # 12 is not a multiple of 5


def test_malformed_einops_pattern_raises_einops_error_itself() -> None:
    with pytest.raises(einops.EinopsError) as info:
        attn_opt.to_mlir(BadPattern(), (torch.randn(2, 3, 12),))
    assert "h d" in str(info.value) or "12" in str(info.value)
    assert attn_opt.EinopsError is einops.EinopsError


class Dropout(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(x).softmax(-1)


def test_training_mode_dropout_is_refused_by_name() -> None:
    with pytest.raises(attn_opt.UnsupportedOperationError, match="dropout"):
        attn_opt.to_mlir(Dropout().train(), (torch.randn(2, 3),))
    assert "attn.softmax" in attn_opt.to_mlir(Dropout().eval(), (torch.randn(2, 3),))


class ZeroSize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.reshape(3, 4, 0) * 2).sum(-1)


def test_zero_size_tensors_compile(compiler) -> None:
    x = torch.randn(12, 0)
    got = attn_opt.compile(ZeroSize(), (x,))(x)
    torch.testing.assert_close(got, ZeroSize()(x))


def test_compile_rejects_unknown_target() -> None:
    with pytest.raises(ValueError, match="expected 'cpu' or 'cuda'"):
        attn_opt.compile(nn.Identity(), (torch.randn(2),), target="tpu")


class _Attention(nn.Module):
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.scaled_dot_product_attention(q, k, v)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
def test_cuda_target_without_a_gpu_is_a_clear_error(compiler) -> None:
    """target="cuda" builds the library (kernels for the device-memory ABI)
    and then says there is no GPU, instead of crashing or falling back."""
    q = torch.randn(1, 2, 64, 64, dtype=torch.bfloat16)
    with pytest.raises(attn_opt.ToolError, match="no usable CUDA GPU"):
        attn_opt.compile(_Attention(), (q, q, q), target="cuda")
