"""G1-G9 of DESIGN.md: emitted IR verifies; compiled code matches eager PyTorch."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch

import attn_opt
from attn_opt import reference
from conftest import run_attn_opt
from graphs import GRAPHS, make_g1, make_g6

# f32 tolerances. rtol 2e-4 as the brief asks. atol 1e-5: outputs here are
# O(1) (|y| <= ~5), where one f32 ulp is <= 4.8e-7; the compiled code sums
# the dot products (K <= 64 terms) and softmax rows in another order than
# PyTorch's kernels, which moves an output by a few ulps of the operands'
# magnitude, so entries whose own value is near 0 (where rtol gives nothing)
# can differ by ~1e-6. 1e-5 leaves a 10x margin over the largest difference
# measured (9.5e-7, G8) and is still 10^4 times smaller than the outputs.
RTOL, ATOL = 2e-4, 1e-5


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_to_mlir_verifies(name: str, attn_opt_tool) -> None:
    module, inputs = GRAPHS[name]()
    text = attn_opt.to_mlir(module, inputs)
    assert "func.func @forward(" in text
    run_attn_opt(attn_opt_tool, text)
    run_attn_opt(attn_opt_tool, text, "--canonicalize")


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_every_graph_fuses(name: str, attn_opt_tool) -> None:
    """G1-G9 as the frontend emits them (masked_fill masks included) reach the
    fused attn.attention form: no softmax is left, one remark per graph."""
    module, inputs = GRAPHS[name]()
    text = attn_opt.to_mlir(module, inputs)
    proc = subprocess.run([str(attn_opt_tool), "-", "--canonicalize", "--attn-fuse-attention=remarks=true",
                           "--canonicalize"], input=text, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("remark: fused attention") == 1, proc.stderr[-3000:]
    assert "attn.softmax" not in proc.stdout and proc.stdout.count("attn.attention") == 1
    # G5's triu mask is recognised as causal: no mask tensor at run time.
    fused = next(line for line in proc.stdout.splitlines() if "attn.attention" in line)
    assert (" causal" in fused and "mask(" not in fused) == (name == "G5"), fused


def _max_error(got: torch.Tensor, ref: torch.Tensor) -> float:
    return float((got.double() - ref.double()).abs().max())


@pytest.mark.parametrize("name", sorted(set(GRAPHS) - {"G6"}))
def test_compiled_matches_eager(name: str, compiler) -> None:
    module, inputs = GRAPHS[name]()
    compiled = attn_opt.compile(module, inputs)
    got = compiled(*inputs)
    with torch.no_grad():
        ref = module(*inputs)
    assert got.shape == ref.shape and got.dtype == ref.dtype
    print(f"{name}: max abs error {_max_error(got, ref):.3e} (max |ref| {float(ref.abs().max()):.3f})")
    torch.testing.assert_close(got, ref, rtol=RTOL, atol=ATOL)


def test_g6_fully_masked_row_is_zero(compiler) -> None:
    module, inputs = make_g6()
    q, k, v, valid = inputs
    assert int(valid[-1]) == 0, "the last batch must have every key masked"
    got = attn_opt.compile(module, inputs)(*inputs)
    with torch.no_grad():
        ref = module(*inputs)
    # Eager PyTorch: softmax over all -inf is NaN; the attn dialect gives 0.
    assert torch.isnan(ref[-1]).all()
    assert torch.equal(got[-1], torch.zeros_like(got[-1]))
    print(f"G6: max abs error {_max_error(got[:-1], ref[:-1]):.3e} on the rows with a valid key")
    torch.testing.assert_close(got[:-1], ref[:-1], rtol=RTOL, atol=ATOL)
    # And against the float64 numpy reference, every row included.
    keep = (np.arange(k.shape[1])[None, :] < valid.numpy()[:, None])[:, None, :]
    expected = reference.attention(q.numpy(), k.numpy(), v.numpy(), mask=keep)
    np.testing.assert_allclose(got.numpy(), expected, rtol=RTOL, atol=ATOL)


def test_g1_against_float64_reference(compiler) -> None:
    module, (x,) = make_g1()
    got = attn_opt.compile(module, (x,))(x.numpy())  # numpy in -> numpy out
    assert isinstance(got, np.ndarray)
    w_out, b_out = module.to_out[0].weight.detach().numpy(), module.to_out[0].bias.detach().numpy()
    expected = reference.vit_attention(x.numpy(), module.to_qkv.weight.detach().numpy(), w_out, b_out,
                                       heads=module.heads)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_g1_bfloat16(compiler) -> None:
    """G1 with bf16 weights and input: bf16 tensors in and out of the compiled
    code (uint16 bits across the C boundary), f32 accumulation inside.
    Tolerance: bf16 keeps 8 significant bits (eps 2^-7 = 7.8e-3 at 1), and
    eager rounds every intermediate (q, k, v, the scores, the attention
    output) to bf16 too, so the two differ by a few bf16 ulps of O(1)
    values: rtol 1.6e-2 (PyTorch's own bf16 default) and atol 1e-2. Against
    the f32 module the compiled result must not be worse than eager bf16 by
    more than 2x."""
    module, (x,) = make_g1()
    with torch.no_grad():
        ref32 = module(x)  # before the weights are rounded to bf16 (in place)
    module = module.to(torch.bfloat16)
    xb = x.to(torch.bfloat16)
    got = attn_opt.compile(module, (xb,))(xb)
    with torch.no_grad():
        ref = module(xb)
    assert got.dtype == torch.bfloat16 and got.shape == ref.shape
    ours, eager = _max_error(got.float(), ref32), _max_error(ref.float(), ref32)
    print(f"G1 bf16: max abs error vs f32 {ours:.3e} (eager bf16: {eager:.3e}), vs eager bf16 "
          f"{_max_error(got.float(), ref.float()):.3e}")
    torch.testing.assert_close(got.float(), ref.float(), rtol=1.6e-2, atol=1e-2)
    assert ours <= 2 * eager + 1e-3


class _NormBlock(torch.nn.Module):
    """LayerNorm, GELU, a mean and a sum of rows whose mean is far from 0:
    bf16 accumulation of 768 such values loses the statistics."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = torch.nn.LayerNorm(768)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.nn.functional.gelu(self.norm(x))
        return y + x.mean(-1, keepdim=True) * 0.1 + x.sum(-1, keepdim=True) * 1e-3


def test_bfloat16_statistics_in_f32(compiler) -> None:
    """f16/bf16 LayerNorm statistics, GELU and row sums/means are computed in
    f32 and rounded once, as PyTorch's CPU kernels do: the emitted IR reduces
    into f32 and the result is as close to the f32 module as eager bf16's
    (measured: 1.22e-1 vs eager's 1.19e-1, outputs up to ~8 where one bf16
    ulp is 3.1e-2; the old form, 768 values around 8 summed in bf16, was off
    by 4.6). Bound: 1.5x eager's error."""
    torch.manual_seed(0)
    module = _NormBlock().eval()
    with torch.no_grad():
        module.norm.weight.uniform_(0.5, 1.5)
        module.norm.bias.uniform_(-0.5, 0.5)
    x = torch.randn(2, 50, 768) + 8.0
    with torch.no_grad():
        ref32 = module(x)
    module = module.to(torch.bfloat16)
    xb = x.to(torch.bfloat16)
    text = attn_opt.to_mlir(module, (xb,))
    assert "linalg.reduce" in text and "outs(%fill : tensor<2x50xbf16>)" not in text
    got = attn_opt.compile(module, (xb,))(xb)
    with torch.no_grad():
        eager = module(xb)
    ours, theirs = _max_error(got.float(), ref32), _max_error(eager.float(), ref32)
    print(f"bf16 norm block: max abs error vs f32 {ours:.3e} (eager bf16: {theirs:.3e})")
    assert ours <= 1.5 * theirs
