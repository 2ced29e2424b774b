"""Attention written with the real einops package, as the classic write-ups
do, compiles and fuses: einops.rearrange/repeat/reduce and the Rearrange
layer under torch.export, with torch.einsum or einops.einsum."""

from __future__ import annotations

import re
import subprocess

import einops
import pytest
import torch
import torch.nn as nn
from einops.layers.torch import Rearrange

import attn_opt

RTOL, ATOL = 2e-4, 1e-5  # f32, as test_graphs.py explains


class ClassicAttention(nn.Module):
    """vit-pytorch's Attention, verbatim in spirit: one to_qkv linear, its
    three chunks split into heads by einops."""

    def __init__(self, dim: int = 512, heads: int = 8, dim_head: int = 64, einsum: str = "torch") -> None:
        super().__init__()
        self.heads, self.scale, self.einsum = heads, dim_head ** -0.5, einsum
        self.to_qkv = nn.Linear(dim, 3 * heads * dim_head, bias=False)
        self.to_out = nn.Linear(heads * dim_head, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = map(lambda t: einops.rearrange(t, "b n (h d) -> b h n d", h=self.heads), qkv)
        if self.einsum == "torch":
            dots = torch.einsum("b h i d, b h j d -> b h i j", q, k) * self.scale
        else:
            dots = einops.einsum(q, k, "b h i d, b h j d -> b h i j") * self.scale
        attn = dots.softmax(dim=-1)
        if self.einsum == "torch":
            out = torch.einsum("b h i j, b h j d -> b h i d", attn, v)
        else:
            out = einops.einsum(attn, v, "b h i j, b h j d -> b h i d")
        out = einops.rearrange(out, "b h n d -> b n (h d)")
        return self.to_out(out)


def _fuse(tool, text: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(tool), "-", "--canonicalize", "--attn-fuse-attention=remarks=true", "--canonicalize"],
                          input=text, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.parametrize("einsum", ["torch", "einops"])
def test_classic_vit_block_fuses_and_matches(einsum: str, attn_opt_tool, compiler) -> None:
    torch.manual_seed(0)
    module = ClassicAttention(einsum=einsum).eval()
    x = torch.randn(7, 257, 512)
    proc = _fuse(attn_opt_tool, attn_opt.to_mlir(module, (x,)))
    assert proc.stderr.count("remark: fused attention") == 1, proc.stderr
    # The remark points at the user's line (the first einsum).
    assert re.search(r"test_einops\.py:\d+:\d+: remark: fused attention", proc.stderr), proc.stderr
    assert "attn.softmax" not in proc.stdout and proc.stdout.count("= attn.attention ") == 1
    compiled = attn_opt.compile(module, (x,))
    x2 = torch.randn(7, 257, 512)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x2), module(x2), rtol=RTOL, atol=ATOL)


class Pieces(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.split = Rearrange("b (h w) c -> b c h w", h=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.split(x)                                       # the layer
        y = einops.reduce(y, "b c (h p) w -> b c h w", "mean", p=2)
        z = einops.repeat(x[:, 0], "b c -> b n c", n=3)         # a broadcast
        return einops.rearrange(y, "b c h w -> b (h w) c") * 2 + z[:, :1]


def test_rearrange_layer_reduce_and_repeat(attn_opt_tool, compiler) -> None:
    x = torch.randn(2, 16, 6)
    text = attn_opt.to_mlir(Pieces(), (x,))
    # A view chain is one rearrange, whatever einops calls underneath.
    assert text.count("attn.rearrange") >= 2
    got = attn_opt.compile(Pieces(), (x,))(x)
    torch.testing.assert_close(got, Pieces()(x), rtol=RTOL, atol=ATOL)


def test_attn_opt_rearrange_is_einops() -> None:
    assert attn_opt.rearrange is einops.rearrange
