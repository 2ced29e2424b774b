"""GQA/MQA as users write it (HF's repeat_kv, repeat_interleave, einops
repeat, Tensor.repeat, an MQA expand): after attn-fold-attention-broadcasts
no broadcast feeds attn.attention (keys and values are read in place), and
the compiled module matches PyTorch."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import repeat

import attn_opt
from conftest import run_attn_opt

RTOL, ATOL = 1e-5, 1e-5
B, H, HKV, S, D = 2, 6, 2, 11, 8
G = H // HKV


def repeat_kv(x: torch.Tensor, groups: int) -> torch.Tensor:
    """transformers' Llama/Mistral repeat_kv."""
    b, hkv, s, d = x.shape
    return x[:, :, None, :, :].expand(b, hkv, groups, s, d).reshape(b, hkv * groups, s, d)


class RepeatKV(nn.Module):
    def forward(self, q, k, v, m):
        return F.scaled_dot_product_attention(q, repeat_kv(k, G), repeat_kv(v, G), attn_mask=m)


class RepeatInterleaveEinsum(nn.Module):
    def forward(self, q, k, v, m):
        k, v = torch.repeat_interleave(k, G, dim=1), torch.repeat_interleave(v, G, dim=1)
        s = torch.einsum("bhid,bhjd->bhij", q, k) * D ** -0.5 + m
        return torch.einsum("bhij,bhjd->bhid", s.softmax(-1), v)


class EinopsRepeat(nn.Module):
    def forward(self, q, k, v, m):
        k = repeat(k, "b h n d -> b (h g) n d", g=G)
        v = repeat(v, "b h n d -> b (h g) n d", g=G)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m)


class TensorRepeat(nn.Module):
    """Head order (g h): query head h reads key head h mod Hkv."""
    def forward(self, q, k, v, m):
        return F.scaled_dot_product_attention(q, k.repeat(1, G, 1, 1), v.repeat(1, G, 1, 1), attn_mask=m)


class MQAExpand(nn.Module):
    def forward(self, q, k, v, m):
        return F.scaled_dot_product_attention(q, k.expand(B, H, S, D), v.expand(B, H, S, D), attn_mask=m)


FORMS = {"repeat_kv": RepeatKV, "repeat_interleave": RepeatInterleaveEinsum, "einops": EinopsRepeat,
         "tensor_repeat": TensorRepeat, "mqa": MQAExpand}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_repeated_heads_are_read_in_place(form: str, attn_opt_tool, compiler) -> None:
    g = torch.Generator().manual_seed(3)
    hkv = 1 if form == "mqa" else HKV
    q = torch.randn(B, H, S, D, generator=g)
    k = torch.randn(B, hkv, S, D, generator=g)
    v = torch.randn(B, hkv, S, D, generator=g)
    m = torch.randn(B, 1, S, S, generator=g)  # broadcast over heads
    module = FORMS[form]().eval()
    inputs = (q, k, v, m)
    text = attn_opt.to_mlir(module, inputs)
    folded = run_attn_opt(attn_opt_tool, text, "--canonicalize", "--attn-fuse-attention",
                          "--attn-fold-attention-broadcasts", "--canonicalize")
    ops = re.findall(r"= attn\.attention ins\(([^:]*):", folded)
    assert len(ops) == 1, folded
    assert "linalg.broadcast" not in folded, folded
    # Keys and values are the function's arguments (or size-1 views of
    # them), never a repeat.
    names = [n.strip() for n in ops[0].split(",")]
    for name in names[1:]:
        defining = re.search(rf"{re.escape(name)} = (\S+)", folded)
        assert name in ("%arg1", "%arg2") or (defining and defining.group(1) == "attn.rearrange"), folded
    compiled = attn_opt.compile(module, inputs)
    with torch.no_grad():
        torch.testing.assert_close(compiled(*inputs), module(*inputs), rtol=RTOL, atol=ATOL)


def _kv_roots(folded: str) -> list:
    """What defines each attn.attention's keys and values, looking through
    attn.rearrange views."""
    defs = dict(re.findall(r"(%[\w.#]+) = ([\w.]+)", folded))
    views = dict(re.findall(r"(%[\w.#]+) = attn\.rearrange (%[\w.#]+)", folded))
    roots = []
    for operands in re.findall(r"= attn\.attention ins\(([^:]*):", folded):
        for name in [n.strip() for n in operands.split(",")][1:3]:
            while name in views:
                name = views[name]
            roots.append(defs.get(name, "argument"))
    return roots


class _Llama(nn.Module):
    """transformers' LlamaModel (GQA: 4 query heads, 2 key/value heads, a
    padding mask) returning its last hidden state."""
    def __init__(self, implementation: str) -> None:
        super().__init__()
        transformers = pytest.importorskip("transformers")
        torch.manual_seed(0)
        cfg = transformers.LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                       num_attention_heads=4, num_key_value_heads=2, vocab_size=100,
                                       max_position_embeddings=64, use_cache=False)
        cfg._attn_implementation = implementation
        self.model = transformers.LlamaModel(cfg).eval()

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=ids, attention_mask=mask).last_hidden_state


@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
def test_hf_llama_reads_kv_heads_in_place(implementation: str, attn_opt_tool, compiler) -> None:
    module = _Llama(implementation)
    ids = torch.randint(0, 100, (2, 12), generator=torch.Generator().manual_seed(1))
    mask = torch.ones(2, 12, dtype=torch.long)
    mask[1, 9:] = 0
    text = attn_opt.to_mlir(module, (ids, mask))
    folded = run_attn_opt(attn_opt_tool, text, "--canonicalize", "--attn-fuse-attention",
                          "--attn-fold-attention-broadcasts", "--canonicalize")
    roots = _kv_roots(folded)
    assert len(roots) == 2 and "linalg.broadcast" not in roots, roots
    compiled = attn_opt.compile(module, (ids, mask))
    with torch.no_grad():
        # A whole decoder layer (RMSNorm, rotary, MLP) in f32: the error of
        # a few reassociated sums.
        torch.testing.assert_close(compiled(ids, mask), module(ids, mask), rtol=1e-5, atol=1e-5)
