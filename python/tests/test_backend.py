"""torch.compile(backend="attn_opt") and attn_opt.explain."""

from __future__ import annotations

import einops
import pytest
import torch
import torch.nn as nn

import attn_opt
from attn_opt import backend
from attn_opt.explain import remarks_of

RTOL, ATOL = 2e-4, 1e-5


class Attention(nn.Module):
    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.to_qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = (einops.rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in self.to_qkv(x).chunk(3, -1))
        attn = (torch.einsum("b h i d, b h j d -> b h i j", q, k) * self.scale).softmax(-1)
        return self.to_out(einops.rearrange(attn @ v, "b h n d -> b n (h d)"))


class SortInTheMiddle(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = Attention(), Attention()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.sort(self.a(x), dim=-1).values  # no translation: stays in PyTorch
        return self.b(y)


def test_backend_partitions_around_an_unsupported_op(compiler) -> None:
    torch.manual_seed(0)
    model = SortInTheMiddle().eval()
    report = backend.Report()
    compiled = torch.compile(model, backend=lambda gm, ex: backend.attn_opt_backend(gm, ex, report=report))
    x = torch.randn(2, 10, 32)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=RTOL, atol=ATOL)
        x2 = torch.randn(2, 10, 32)  # other values, same shapes: no recompile
        torch.testing.assert_close(compiled(x2), model(x2), rtol=RTOL, atol=ATOL)
    assert report.regions == 2, report
    assert [f.op for f in report.fallbacks] == ["aten.sort.default"]
    assert "test_backend.py" in report.fallbacks[0].source
    # Both attentions fused in their regions.
    remarks = [r for text in report.mlir for r in remarks_of(text)]
    assert sum(r.fused for r in remarks) == 2


def test_backend_is_registered_by_name(compiler) -> None:
    model = Attention().eval()
    x = torch.randn(1, 5, 32)
    with torch.no_grad():
        torch.testing.assert_close(torch.compile(model, backend="attn_opt")(x), model(x), rtol=RTOL, atol=ATOL)


def test_backend_specialises_dynamic_shapes(compiler) -> None:
    """dynamic=True: one graph with symbolic sizes; each region compiles one
    variant per concrete shape it is called with."""
    model = Attention().eval()
    compiled = torch.compile(model, backend="attn_opt", dynamic=True)
    with torch.no_grad():
        for shape in [(2, 7, 32), (3, 11, 32), (2, 7, 32)]:
            x = torch.randn(*shape)
            torch.testing.assert_close(compiled(x), model(x), rtol=RTOL, atol=ATOL)


def test_explain_lists_fused_near_misses_and_unsupported(attn_opt_tool) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 10, 32)
    good = attn_opt.explain(Attention().eval(), (x,))
    assert good.fused == 1 and not good.unsupported
    assert good.remarks[0].filename.endswith("test_backend.py")

    class SoftmaxOverQueries(nn.Module):
        def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
            return (q @ k.transpose(-1, -2)).softmax(dim=-2) @ k

    miss = attn_opt.explain(SoftmaxOverQueries(), (x, x))
    assert miss.fused == 0 and len(miss.not_fused) == 1 and "axis" in miss.not_fused[0].message
    bad = attn_opt.explain(SortInTheMiddle().eval(), (x,))
    assert [u.op for u in bad.unsupported] == ["aten.sort.default"]
    assert "aten.sort" in str(bad)
    both = attn_opt.explain(SortInTheMiddle().eval(), (x,), mode="torch.compile")
    assert both.fused == 2 and [f.op for f in both.fallbacks] == ["aten.sort.default"]


class EmbeddingBlock(nn.Module):
    """Embedding, LayerNorm and nn.MultiheadAttention (F.scaled_dot_product_attention inside)."""

    def __init__(self, dim: int = 32, heads: int = 4, vocab: int = 50) -> None:
        super().__init__()
        self.emb, self.ln = nn.Embedding(vocab, dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2, self.ff = nn.LayerNorm(dim), nn.Linear(dim, dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.ln(self.emb(ids))
        x = x + self.attn(x, x, x, need_weights=False)[0]
        return self.ff(torch.nn.functional.gelu(self.ln2(x)))


def _output_and_grads(model: nn.Module, fn, ids: torch.Tensor):
    for p in model.parameters():
        p.grad = None
    out = fn(ids)
    weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(7))
    (out * weight).sum().backward()
    return out.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}


def test_backend_grad_mode_matches_eager_gradients(compiler) -> None:
    """Grad mode: the forward is partitioned from AOTAutograd's joint graph
    and the backward reads what it saved. torch.export's decomposition of
    the SDPA CPU kernel returns the attention weights where the kernel
    returns logsumexp; kept in a joint graph, the outputs were right and
    the gradients of everything before the attention off by ~1e1."""
    torch.manual_seed(0)
    model = EmbeddingBlock()
    ids = torch.randint(0, 50, (2, 7))
    want_out, want_grads = _output_and_grads(model, model, ids)
    report = backend.Report()
    compiled = torch.compile(model, backend="attn_opt", options={"report": report})
    got_out, got_grads = _output_and_grads(model, compiled, ids)
    torch.testing.assert_close(got_out, want_out, rtol=RTOL, atol=ATOL)
    for name, want in want_grads.items():
        torch.testing.assert_close(got_grads[name], want, rtol=RTOL, atol=ATOL, msg=lambda m: f"{name}: {m}")
    assert report.backward_graphs == 1 and report.regions >= 1, report
    # What the backward needs but attn-opt does not compute stays in PyTorch, named.
    assert {f.op for f in report.fallbacks} == {"aten.native_layer_norm.default",
                                                "aten._scaled_dot_product_flash_attention_for_cpu.default"}
    assert all("saved for the backward" in f.reason for f in report.fallbacks)


class GeluBetween(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.ff = Attention(), nn.Linear(32, 32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ff(torch.nn.functional.gelu(self.a(x)) * 2)


def test_backend_compiles_the_rest_of_a_region_whose_translation_fails_on_one_node(compiler, monkeypatch) -> None:
    from attn_opt import ops
    from attn_opt.errors import AttnOptError

    def broken(tx, *args, **kwargs):
        raise AttnOptError("gelu is broken for this test")

    monkeypatch.setitem(ops._TABLE, "gelu", broken)
    torch.manual_seed(0)
    model = GeluBetween().eval()
    report = backend.Report()
    compiled = torch.compile(model, backend="attn_opt", options={"report": report})
    x = torch.randn(2, 10, 32)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=RTOL, atol=ATOL)
    assert report.regions == 1, report  # one region at partitioning ...
    assert [f.op for f in report.fallbacks] == ["aten.gelu.default"], report
    assert "gelu is broken for this test" in report.fallbacks[0].reason
    assert "the rest of its region is compiled" in report.fallbacks[0].reason
    assert "test_backend.py" in report.fallbacks[0].source
    assert report.variants == 2, report  # ... compiled as the two pieces around gelu
    assert sum(r.fused for text in report.mlir for r in remarks_of(text)) == 1


def test_backend_options(compiler) -> None:
    model = Attention().eval()
    x = torch.randn(1, 5, 32)
    report = backend.Report()
    with torch.no_grad():
        torch.compile(model, backend="attn_opt", options={"report": report})(x)
    assert report.graphs == 1 and report.regions == 1 and report.variants == 1 and not report.fallbacks, report
    assert "1 region(s)" in str(report)
    torch._dynamo.reset()
    with pytest.raises(Exception, match="unknown option.*colour"):
        with torch.no_grad():
            torch.compile(model, backend="attn_opt", options={"colour": "blue"})(x)
