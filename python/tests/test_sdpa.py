"""F.scaled_dot_product_attention: every mask kind, is_causal, scale and
grouped-query attention become one attn.attention and match PyTorch."""

from __future__ import annotations

import re
from typing import Any, Optional

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import attn_opt
from conftest import run_attn_opt

RTOL, ATOL = 2e-4, 1e-5


class SDPA(nn.Module):
    def __init__(self, causal: bool = False, scale: Optional[float] = None, gqa: bool = False) -> None:
        super().__init__()
        self.causal, self.scale, self.gqa = causal, scale, gqa

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Any = None) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=self.causal, scale=self.scale,
                                              enable_gqa=self.gqa)


def _case(kind: str):
    g = torch.Generator().manual_seed(hash(kind) % 1000)
    q = torch.randn(2, 4, 7, 8, generator=g)
    k = torch.randn(2, 4, 9, 8, generator=g)
    v = torch.randn(2, 4, 9, 5, generator=g)
    mask = None
    module = SDPA()
    if kind == "bool":
        mask = torch.rand(2, 1, 7, 9, generator=g) > 0.4
        mask[1, 0, 3] = False  # a fully masked row: 0 here and in PyTorch 2.x
    elif kind == "float":
        mask = torch.randn(7, 9, generator=g)
    elif kind == "causal":
        k, v = k[:, :, :7], v[:, :, :7]
        module = SDPA(causal=True)
    elif kind == "scale":
        module = SDPA(scale=0.3)
    elif kind == "gqa":
        k, v = k[:, :2], v[:, :2]
        module = SDPA(gqa=True)
    elif kind == "gqa_causal":
        k, v = k[:, :2, :7], v[:, :2, :7]
        module = SDPA(causal=True, gqa=True)
    elif kind in ("gqa_mask", "gqa_broadcast_mask", "gqa_2d_mask"):
        k, v = k[:, :2], v[:, :2]
        shape = {"gqa_mask": (2, 4, 7, 9), "gqa_broadcast_mask": (2, 1, 7, 9), "gqa_2d_mask": (7, 9)}[kind]
        mask = torch.rand(*shape, generator=g) > 0.4
        mask[..., 0] = True
        module = SDPA(gqa=True)
    return module.eval(), (q, k, v, mask)


@pytest.mark.parametrize("kind", ["plain", "bool", "float", "causal", "scale", "gqa", "gqa_causal", "gqa_mask",
                                  "gqa_broadcast_mask", "gqa_2d_mask"])
def test_sdpa_forms(kind: str, attn_opt_tool, compiler) -> None:
    module, inputs = _case(kind)
    text = attn_opt.to_mlir(module, inputs)
    canonical = run_attn_opt(attn_opt_tool, text, "--canonicalize")
    ops = re.findall(r"= attn\.attention [^\n]*", canonical)
    assert len(ops) == 1 and "attn.softmax" not in canonical
    assert (" causal" in ops[0]) == (kind in ("causal", "gqa_causal"))
    assert ("mask(" in ops[0]) == (kind in ("bool", "float", "gqa_mask", "gqa_broadcast_mask", "gqa_2d_mask"))
    if kind == "scale":
        assert "scale(3.0" in ops[0]
    if kind.startswith("gqa"):
        # Keys and values (and a mask broadcast over heads) read in place for
        # their query heads: no repeat.
        assert "linalg.broadcast" not in canonical and "indexing_maps" in ops[0]
    compiled = attn_opt.compile(module, inputs)
    g = torch.Generator().manual_seed(7)
    test = tuple(torch.randn(x.shape, generator=g) if isinstance(x, torch.Tensor) and x.is_floating_point()
                 else x for x in inputs)
    with torch.no_grad():
        torch.testing.assert_close(compiled(*test), module(*test), rtol=RTOL, atol=ATOL)


def test_gqa_without_enable_gqa_is_refused() -> None:
    q, k = torch.randn(1, 4, 5, 8), torch.randn(1, 2, 5, 8)
    with pytest.raises((attn_opt.UnsupportedOperationError, attn_opt.CaptureError)):
        attn_opt.to_mlir(SDPA(), (q, k, k))


def test_sdpa_dropout_is_refused_by_name() -> None:
    class Drop(nn.Module):
        def forward(self, q: torch.Tensor) -> torch.Tensor:
            return F.scaled_dot_product_attention(q, q, q, dropout_p=0.1)

    with pytest.raises(attn_opt.UnsupportedOperationError, match="dropout"):
        attn_opt.to_mlir(Drop(), (torch.randn(1, 2, 4, 8),))
