"""Attention as torch.export records it from code written against bmm,
baddbmm and matmul over merged (batch, head) rows, with the scale on q, on
k or on the scores and masks by masked_fill, where or addition: each fuses
into one attn.attention and matches eager PyTorch."""

from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn as nn

import attn_opt
from conftest import run_attn_opt

RTOL, ATOL = 2e-4, 1e-5
B, H, N, D = 2, 4, 9, 8


class Merged(nn.Module):
    """q, k, v: [B*H, N, D] (d2l's transpose_qkv layout)."""

    def __init__(self, scale_on: str, mask: str) -> None:
        super().__init__()
        self.scale_on, self.mask = scale_on, mask

    def forward(self, q, k, v, m):
        c = 1 / math.sqrt(D)
        if self.scale_on == "q":
            q = q * c
        if self.scale_on == "k":
            k = k * c
        if self.mask == "baddbmm":
            s = torch.baddbmm(m, q, k.transpose(1, 2), alpha=c if self.scale_on == "scores" else 1.0)
        else:
            s = torch.bmm(q, k.transpose(1, 2))
            if self.scale_on == "scores":
                s = s * c
            if self.mask == "masked_fill":
                s = s.masked_fill(m < 0, float("-inf"))
            elif self.mask == "where":
                s = torch.where(m >= 0, s, torch.tensor(-1e9))
            elif self.mask == "add":
                s = s + m
        return torch.bmm(s.softmax(-1), v)


class FourD(nn.Module):
    """[B, H, N, D] with matmul and a head-broadcast mask."""

    def forward(self, q, k, v, m):
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D)
        s = s.masked_fill(m[:, None] < 0, float("-inf"))
        return torch.matmul(torch.softmax(s, dim=-1), v)


def _inputs(seed, merged=True):
    g = torch.Generator().manual_seed(seed)
    shape = (B * H, N, D) if merged else (B, H, N, D)
    q, k, v = (torch.randn(shape, generator=g) for _ in range(3))
    m = torch.randn((B * H, N, N) if merged else (B, N, N), generator=g)
    m[..., 0] = 1.0  # every row keeps a key
    return q, k, v, m


@pytest.mark.parametrize("scale_on", ["q", "k", "scores"])
@pytest.mark.parametrize("mask", ["none", "masked_fill", "where", "add", "baddbmm"])
def test_merged_head_forms_fuse(scale_on, mask, attn_opt_tool, compiler) -> None:
    module = Merged(scale_on, mask).eval()
    text = attn_opt.to_mlir(module, _inputs(0))
    fused = run_attn_opt(attn_opt_tool, text, "--canonicalize", "--attn-fuse-attention", "--canonicalize")
    assert len(re.findall(r"= attn\.attention ", fused)) == 1 and "attn.softmax" not in fused
    test = _inputs(1)
    with torch.no_grad():
        torch.testing.assert_close(attn_opt.compile(module, _inputs(0))(*test), module(*test), rtol=RTOL, atol=ATOL)


def test_four_d_matmul_with_broadcast_mask(attn_opt_tool, compiler) -> None:
    module = FourD().eval()
    text = attn_opt.to_mlir(module, _inputs(0, merged=False))
    fused = run_attn_opt(attn_opt_tool, text, "--canonicalize", "--attn-fuse-attention", "--canonicalize")
    assert len(re.findall(r"= attn\.attention ", fused)) == 1 and "attn.softmax" not in fused
    test = _inputs(1, merged=False)
    with torch.no_grad():
        torch.testing.assert_close(attn_opt.compile(module, _inputs(0, merged=False))(*test), module(*test),
                                   rtol=RTOL, atol=ATOL)


class Transposed(nn.Module):
    """LeViT's convolutional mode: channels before positions, q^T k and
    v @ attn^T, so the output is [B, H, D, N] (timm levit_conv_*)."""

    def forward(self, q, k, v, m):
        s = (q.transpose(-2, -1) @ k) * D ** -0.5
        return v @ s.softmax(dim=-1).transpose(-2, -1)


@pytest.mark.parametrize("batch", [1, 2])
def test_transposed_layout_fuses(batch, attn_opt_tool, compiler) -> None:
    """Transposes of a batch-of-one tensor (written "1 h n d -> 1 h d n")
    fold into the einsums like any permutation, so the probabilities reach
    P·V directly and the attention fuses in the transposed layout."""
    module = Transposed().eval()

    def inputs(seed):
        g = torch.Generator().manual_seed(seed)
        return tuple(torch.randn(batch, H, D, N, generator=g) for _ in range(3)) + (torch.zeros(1),)
    text = attn_opt.to_mlir(module, inputs(0))
    fused = run_attn_opt(attn_opt_tool, text, "--canonicalize", "--attn-fuse-attention", "--canonicalize")
    assert len(re.findall(r"= attn\.attention ", fused)) == 1 and "attn.softmax" not in fused
    test = inputs(1)
    with torch.no_grad():
        torch.testing.assert_close(attn_opt.compile(module, inputs(0))(*test), module(*test), rtol=RTOL, atol=ATOL)


def test_vit_b_16_ir_is_small() -> None:
    """Weights are arguments: torchvision's vit_b_16 (86 M parameters) is a
    few hundred KB of IR (686 MB with embedded weights), with 12 attentions
    and no constant larger than its masks and indices."""
    torchvision = pytest.importorskip("torchvision")
    model = torchvision.models.vit_b_16(weights=None).eval()
    text = attn_opt.to_mlir(model, (torch.randn(1, 3, 224, 224),))
    assert len(text.encode()) < 1_000_000
    assert text.count("= attn.attention ") == 12


class ClsRelPos(nn.Module):
    """MViTv2's relative position terms, added in place to the scores of
    every query and key but the class token's (timm mvitv2 cal_rel_pos_type):
    the score tensor is updated through a slice."""

    def forward(self, q, k, v, m):
        s = (q * D ** -0.5) @ k.transpose(-2, -1)
        s[:, :, 1:, 1:] = s[:, :, 1:, 1:] + m[:, None, 1:, 1:] + m[:, None, 1:, :1]
        return s.softmax(dim=-1) @ v


class SliceAssign(nn.Module):
    """A slice written with a value that is not an update of itself: stays a
    tensor.insert_slice, the attention after it is not fused."""

    def forward(self, q, k, v, m):
        s = q @ k.transpose(-2, -1)
        s[:, :, 1:, 1:] = m[:, None, 1:, 1:]
        return s.softmax(dim=-1) @ v


def test_slice_update_of_scores_fuses(attn_opt_tool, compiler) -> None:
    module = ClsRelPos().eval()
    text = attn_opt.to_mlir(module, _inputs(0, merged=False))
    fused = run_attn_opt(attn_opt_tool, text, "--canonicalize", "--attn-fold-slice-updates", "--attn-fuse-attention",
                         "--canonicalize")
    assert len(re.findall(r"= attn\.attention ", fused)) == 1 and "attn.softmax" not in fused
    assert "tensor.insert_slice" not in fused
    test = _inputs(1, merged=False)
    with torch.no_grad():
        torch.testing.assert_close(attn_opt.compile(module, _inputs(0, merged=False))(*test), module(*test),
                                   rtol=RTOL, atol=ATOL)
    assert attn_opt.explain(module, _inputs(0, merged=False)).fused == 1


def test_slice_assignment_is_exact(compiler) -> None:
    module = SliceAssign().eval()
    test = _inputs(1, merged=False)
    with torch.no_grad():
        torch.testing.assert_close(attn_opt.compile(module, _inputs(0, merged=False))(*test), module(*test),
                                   rtol=RTOL, atol=ATOL)


def test_timm_mvitv2_cls_fuses(compiler) -> None:
    """timm's MViTv2 with a class token at a small config: every attention
    (relative position terms on all but the class token) fuses and the
    logits match eager."""
    mvitv2 = pytest.importorskip("timm.models.mvitv2")
    cfg = mvitv2.MultiScaleVitCfg(depths=(1, 1, 1, 1), embed_dim=48, num_heads=1, expand_attn=False,
                                  use_cls_token=True)
    torch.manual_seed(0)
    model = mvitv2.MultiScaleVit(cfg, img_size=(64, 64), num_classes=10).eval()
    x = torch.randn(1, 3, 64, 64)
    assert attn_opt.explain(model, (x,)).fused == 4
    x2 = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        want = model(x2)
        got = attn_opt.compile(model, (x,))(x2)
    assert float((got - want).abs().max() / want.abs().max()) <= 1e-4
