"""attn_opt.rearrange: einops semantics in eager mode, one attn.rearrange traced."""

from __future__ import annotations

import pytest
import torch
import torch.fx

import attn_opt
from attn_opt import EinopsError, rearrange
from attn_opt import reference


def test_split_heads_matches_view_permute() -> None:
    x = torch.randn(2, 5, 12)
    got = rearrange(x, "b n (h d) -> b h n d", h=3)
    assert torch.equal(got, x.view(2, 5, 3, 4).permute(0, 2, 1, 3))


def test_merge_heads_matches_permute_reshape() -> None:
    x = torch.randn(2, 3, 5, 4)
    got = rearrange(x, "b h n d -> b n (h d)")
    assert torch.equal(got, x.permute(0, 2, 1, 3).reshape(2, 5, 12))


@pytest.mark.parametrize("pattern,sizes,manual", [
    ("b p n (h d) -> b p h n d", {"h": 2}, lambda x: x.view(2, 3, 4, 2, 5).permute(0, 1, 3, 2, 4)),
    ("b p n c -> (b p) n c", {}, lambda x: x.reshape(6, 4, 10)),
    ("b p n c -> c n p b", {}, lambda x: x.permute(3, 2, 1, 0)),
    ("b ... c -> b c ...", {}, lambda x: x.permute(0, 3, 1, 2)),
    ("b ... -> b (...)", {}, lambda x: x.reshape(2, -1)),
    ("b p n (c1 c2) -> b (c2 p) n c1", {"c1": 5}, lambda x: x.view(2, 3, 4, 5, 2).permute(0, 4, 1, 2, 3)
     .reshape(2, 6, 4, 5)),
    ("b p n c -> b 1 p n c ()", {}, lambda x: x[:, None, ..., None]),
])
def test_patterns_match_manual_reshape_permute(pattern, sizes, manual) -> None:
    x = torch.randn(2, 3, 4, 10)
    got = rearrange(x, pattern, **sizes)
    assert torch.equal(got, manual(x))
    assert torch.equal(torch.from_numpy(reference.rearrange(x.numpy(), pattern, **sizes)), got)


def test_unit_axis_on_the_left() -> None:
    x = torch.randn(3, 1, 5)
    assert torch.equal(rearrange(x, "a 1 c -> c a"), x[:, 0].t())


@pytest.mark.parametrize("pattern,sizes,message", [
    ("b n (h d) -> b h n d", {"h": 5}, "can't divide axis of length 12 in chunks of 5"),
    ("b n (h d) -> b h n d", {}, "Could not infer sizes"),
    ("b n c -> b n", {}, "Identifiers only on one side"),
    ("b n c d -> b n c d", {}, "Wrong shape: expected 4 dims. Received 3-dim tensor"),
    ("b n n -> b n", {}, "duplicate dimension"),
    ("b n c -> b c n", {"h": 2}, "Axis h is not used in transform"),
    ("b (n ...) -> b n", {}, "Ellipsis inside parenthesis"),
    ("b n c", {}, "->"),
    ("b 2 c -> b c", {}, "Non-unitary anonymous axes"),
])
def test_invalid_patterns_raise_like_einops(pattern, sizes, message) -> None:
    with pytest.raises(EinopsError, match=message.replace("(", r"\(").replace(".", r"\.")):
        rearrange(torch.randn(2, 5, 12), pattern, **sizes)


def test_traces_to_one_leaf_node() -> None:
    class M(torch.nn.Module):
        def forward(self, x):
            return rearrange(x, "b n (h d) -> b h n d", h=3)

    graph = torch.fx.symbolic_trace(M()).graph
    calls = [n for n in graph.nodes if n.op == "call_function"]
    assert len(calls) == 1 and calls[0].target is rearrange
    text = attn_opt.to_mlir(M(), (torch.randn(2, 5, 12),))
    assert text.count("attn.rearrange") == 1
    assert 'attn.rearrange %x "b n (h d) -> b h n d" {h = 3} : tensor<2x5x12xf32> -> tensor<2x3x5x4xf32>' in text
