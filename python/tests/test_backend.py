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
