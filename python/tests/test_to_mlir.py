"""The text to_mlir emits: op choice, one rearrange per view chain, round trip."""

from __future__ import annotations

import copy
import re
from typing import Optional

import torch
import torch.nn as nn

import attn_opt
from attn_opt.capture import lower
from conftest import run_attn_opt
from graphs import make_g1, make_g2, make_g4, make_g5


def _ops(text: str) -> list:
    return re.findall(r"= ([a-z_]+\.[a-z_]+)", text)


def test_g1_ir_shape(attn_opt_tool) -> None:
    module, inputs = make_g1()
    text = attn_opt.to_mlir(module, inputs)
    ops = _ops(text)
    # 3 head splits + 1 head merge, + the merge of the qkv projection's
    # column panels (its 192 outputs: 3 panels of 64; the 64-output
    # projection keeps its plain [in, out] weight).
    assert ops.count("attn.rearrange") == 5
    assert text.count('"a0 a1 i, p i c -> a0 a1 p c"') == 1
    assert ops.count("attn.einsum") == 4  # qkv, scores, mix, out projection
    assert ops.count("attn.softmax") == 1
    assert ops.count("tensor.extract_slice") == 3
    assert '"b n (h d) -> b h n d" {h = 4}' in text
    assert '"b h n d -> b n (h d)"' in text
    assert 'dense<"0x' not in text  # weights are arguments, never in the IR
    # The scale is an arith.mulf by a splat, which the canonicaliser folds.
    canonical = run_attn_opt(attn_opt_tool, text, "--canonicalize")
    scales = re.findall(r"scale\(([^)]*)\)", canonical)
    assert [float(s) for s in scales] == [0.25] and "arith.mulf" not in canonical


def test_g1_round_trips(attn_opt_tool) -> None:
    module, inputs = make_g1()
    text = attn_opt.to_mlir(module, inputs)
    once = run_attn_opt(attn_opt_tool, text)
    twice = run_attn_opt(attn_opt_tool, once)
    assert once == twice
    generic = run_attn_opt(attn_opt_tool, text, "--mlir-print-op-generic")
    assert run_attn_opt(attn_opt_tool, generic) == once


def test_view_transpose_chain_is_one_rearrange() -> None:
    module, inputs = make_g4(masked=False)
    text = attn_opt.to_mlir(module, inputs)
    rearranges = re.findall(r'attn.rearrange %\S+ "([^"]+)"', text)
    # q, k, v head splits (view + transpose), k.transpose, head merge
    # (transpose + contiguous + view): each chain is exactly one op.
    assert rearranges.count("b n (h d) -> b h n d") == 2
    assert "b n (h d) -> b h d n" in rearranges  # key split and transposed at once
    assert rearranges.count("b h n d -> b n (h d)") == 1
    assert len(rearranges) == 4


def test_matmul_uses_explicit_labels() -> None:
    module, inputs = make_g2()
    text = attn_opt.to_mlir(module, inputs)
    assert '"b p n (h d) -> b p h n d" {h = 2}' in text
    assert 'attn.einsum "b p h i k, b p h k j -> b p h i j"' in text


def test_causal_mask_is_folded_to_a_constant(attn_opt_tool) -> None:
    module, inputs = make_g5(n=4)
    text = attn_opt.to_mlir(module, inputs)
    printed = run_attn_opt(attn_opt_tool, text)
    assert "dense<[[false, true, true, true], [false, false, true, true]," in printed
    assert "arith.select" in text and "dense<0xFF800000>" in text  # -inf splat


def test_layer_norm_and_gelu_lowering() -> None:
    module = nn.Sequential(nn.LayerNorm(8), nn.Linear(8, 8), nn.GELU()).eval()
    text = attn_opt.to_mlir(module, (torch.randn(2, 3, 8),))
    ops = _ops(text)
    assert ops.count("linalg.reduce") == 2 and "math.rsqrt" in ops and "math.erf" in ops


def test_parameters_are_arguments_prepared_transposed() -> None:
    """Weights are arguments after the inputs, named after the parameter;
    a Linear's weight is prepared at load time: as [out / 64, in, 64] column
    panels when 64 divides out (and there are several), transposed ([in,
    out]) otherwise; the values are the weight's, rearranged."""
    module, inputs = make_g1()
    lowered, _ = lower(module, inputs)
    header = next(l for l in lowered.mlir.splitlines() if l.startswith("func.func"))
    args = re.findall(r"(%\w+): (tensor<[^>]*>)", header.split(" -> ")[0])
    assert args[0] == ("%x", "tensor<2x17x64xf32>")
    names = dict(args[1:])
    qkv = next(n for n in names if "qkv" in n)
    assert qkv.endswith("_weight_p") and names[qkv] == "tensor<3x64x64xf32>"
    out = next(n for n in names if "to_out" in n and "weight" in n)
    assert out.endswith("_weight_t") and names[out] == "tensor<64x64xf32>"
    assert len(args) == 1 + sum(1 for _ in module.parameters())
    with torch.no_grad():
        prepared = lowered.prepare(*[module.get_parameter(name) for _kind, name in lowered.prepare_inputs])
    w = module.to_qkv.weight.detach()
    panels = dict(zip([n for n, _ in args[1:]], prepared))[qkv]
    assert torch.equal(panels, w.t().reshape(64, 3, 64).permute(1, 0, 2))
    # The CUDA target keeps [in, out].
    cuda, _ = lower(module, inputs, target="cuda")
    assert "p i c" not in cuda.mlir and "tensor<64x192xf32>" in cuda.mlir


class _Conv1D(nn.Module):
    """HF GPT-2's Conv1D: a weight stored [in, out], applied by addmm; and
    the same weight applied by a plain matmul."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_in, n_out) * 0.1)
        self.bias = nn.Parameter(torch.randn(n_out))

    def forward(self, x: torch.Tensor):
        flat = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return flat.view(*x.shape[:-1], -1), x @ self.weight


def test_matmul_weights_are_prepared_as_panels() -> None:
    """A parameter on the right of addmm or matmul ([in, out]) gets the
    column panels an nn.Linear weight gets (its rows are out floats apart,
    a page or more for GPT-2's 768 x 2304); the values are the weight's and
    both products match eager. 64 not dividing out keeps the weight as is."""
    module = _Conv1D(96, 192).eval()
    x = torch.randn(2, 5, 96)
    lowered, _ = lower(module, (x,))
    assert lowered.mlir.count(", p i c -> ") == 2, lowered.mlir
    assert "tensor<3x96x64xf32>" in lowered.mlir
    with torch.no_grad():
        prepared = lowered.prepare(*[module.get_parameter(name) for _k, name in lowered.prepare_inputs])
    panels = [t for t in prepared if t.dim() == 3]
    assert panels and all(torch.equal(p, module.weight.detach().reshape(96, 3, 64).permute(1, 0, 2))
                          for p in panels)
    compiled = attn_opt.compile(module, (x,))
    with torch.no_grad():
        for got, want in zip(compiled(x), module(x)):
            torch.testing.assert_close(got, want, rtol=2e-5, atol=2e-5)
    odd, _ = lower(_Conv1D(96, 100).eval(), (x,))
    assert "p i c" not in odd.mlir and "tensor<96x100xf32>" in odd.mlir


def test_bf16_linear_weights_are_prepared_as_row_pairs() -> None:
    """A bf16 Linear's weight becomes [out / 64, in / 2, 64, 2] panels of
    row pairs (the VNNI form AMX tiles load in place), read by one einsum
    over the input viewed as [..., in / 2, 2]; the compiled Linear matches
    eager at bf16 tolerance (products exact in f32, one rounding of the
    output: 2^-8 of its largest magnitude, plus the f32 sum's order)."""
    linear = nn.Linear(96, 128).to(torch.bfloat16).eval()
    x = torch.randn(2, 5, 96).to(torch.bfloat16)
    lowered, _ = lower(linear, (x,))
    assert '"a0 a1 i e, p i c e -> a0 a1 p c"' in lowered.mlir
    assert "tensor<2x48x64x2xbf16>" in lowered.mlir
    with torch.no_grad():
        (pairs,) = [t for t in lowered.prepare(*[linear.get_parameter(name) for _k, name in lowered.prepare_inputs])
                    if t.dim() == 4]
    w_t = linear.weight.detach().t()
    assert torch.equal(pairs, w_t.reshape(48, 2, 2, 64).permute(2, 0, 3, 1))
    assert torch.equal(pairs[1, 7, 5], torch.stack([w_t[14, 69], w_t[15, 69]]))
    compiled = attn_opt.compile(linear, (x,))
    with torch.no_grad():
        want = copy.deepcopy(linear).float()(x.float())
        got = compiled(x).float()
    assert (got - want).abs().max() <= 2 ** -7 * want.abs().max()
    # An odd in_features keeps the plain panels.
    odd = nn.Linear(95, 128).to(torch.bfloat16).eval()
    text, _ = lower(odd, (torch.randn(3, 95).to(torch.bfloat16),))
    assert "p i c e" not in text.mlir and "tensor<2x95x64xbf16>" in text.mlir


class IndexingAndUnbind(nn.Module):
    """timm-style qkv: reshape + permute + unbind, class-token slice, None axes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = x.reshape(b, n, 3, 2, c // 6).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, n, c // 3)
        return out[:, 0] + out[:, 1:, :].mean(dim=1) + x[..., None, 0, :c // 3].sum(1)


def test_indexing_and_unbind(attn_opt_tool) -> None:
    x = torch.randn(2, 5, 12)
    text = attn_opt.to_mlir(IndexingAndUnbind(), (x,))
    run_attn_opt(attn_opt_tool, text)
    assert '"b n (c0 c1 c2) -> c0 b c1 n c2" {c0 = 3, c1 = 2}' in text


def test_indexing_and_unbind_compiled(compiler) -> None:
    x = torch.randn(2, 5, 12)
    got = attn_opt.compile(IndexingAndUnbind(), (x,))(x)
    torch.testing.assert_close(got, IndexingAndUnbind()(x), rtol=2e-4, atol=1e-5)


class OptionalArgs(nn.Module):
    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None, causal: bool = False) -> torch.Tensor:
        s = x @ x.transpose(-1, -2)
        if mask is not None:
            s = s.masked_fill(~mask, float("-inf"))
        if causal:
            n = x.size(1)
            s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
        return s.softmax(-1) @ x


def test_optional_and_flag_arguments_are_specialised(attn_opt_tool) -> None:
    x = torch.randn(2, 4, 8)
    plain = attn_opt.to_mlir(OptionalArgs(), (x,))
    assert "arith.select" not in plain and "%mask" not in plain
    causal = attn_opt.to_mlir(OptionalArgs(), (x, None, True))
    assert causal.count("arith.select") == 1 and "%mask" not in causal
    masked = attn_opt.to_mlir(OptionalArgs(), (x, torch.rand(2, 4, 4) > 0.5))
    assert "%mask: tensor<2x4x4xi1>" in masked
    for text in (plain, causal, masked):
        run_attn_opt(attn_opt_tool, text)


_RSS_SCRIPT = """
import resource, torch, torch.nn.functional as F, attn_opt
class Core(torch.nn.Module):
    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)
q = torch.randn(1, 8, 8192, 64)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
text = attn_opt.to_mlir(Core(), (q, q, q))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert "attn.attention" in text
print((after - before) // 1024)
"""


def test_capture_never_materialises_the_scores() -> None:
    """Capture runs on fake tensors: at b1 h8 n8192 the n x n scores (2 GiB)
    are never allocated (the fx/ShapeProp tracer of old peaked at 4.3 GiB)."""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", _RSS_SCRIPT], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    grown_mib = int(proc.stdout.strip().splitlines()[-1])
    assert grown_mib < 512, f"capture grew the process by {grown_mib} MiB"


def test_region_reads_a_function_value_named_like_its_result() -> None:
    """A region may read a function value whose name it also defines later
    (the pad body's ``%r = arith.select`` reads the padded tensor ``%r``):
    only uses after the local definition are renamed."""
    from attn_opt.emitter import localize
    body = ["  ^bb0(%out: f32):", "    %v = tensor.extract %r[%i] : tensor<4xf32>",
            "    %r = arith.select %c, %v, %out : f32", "    linalg.yield %r : f32"]
    got = localize(body, ["%out"], 7)
    assert got[1] == "    %v.7 = tensor.extract %r[%i] : tensor<4xf32>"
    assert got[2] == "    %r.7 = arith.select %c, %v.7, %out.7 : f32"
    assert got[3] == "    linalg.yield %r.7 : f32"


class ReshapeThenPad(nn.Module):
    """timm's TNT: the padded tensor is the function's first rearrange, %r."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pad(x.reshape(2, 3, 4, 4), (1, 2, 2, 1)) * 2


def test_pad_of_a_tensor_named_r(attn_opt_tool, compiler) -> None:
    module = ReshapeThenPad()
    text = attn_opt.to_mlir(module, (torch.randn(6, 16),))
    run_attn_opt(attn_opt_tool, text, "--canonicalize")  # verifies
    x = torch.randn(6, 16)
    torch.testing.assert_close(attn_opt.compile(module, (torch.randn(6, 16),))(x), module(x))


class PatchMerging(nn.Module):
    """Swin's patch merging: the cat of four strided slices along channels,
    and a cat whose parts have different dtypes and an empty one."""

    def forward(self, x: torch.Tensor, i: torch.Tensor) -> tuple:
        parts = [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]]
        mixed = torch.cat([x[:, :1, :1], i[:, :1, :1], x[:, :0, :1]], 1)
        return torch.cat(parts, -1) * 2, mixed


def test_cat_is_one_insert_per_part(attn_opt_tool, compiler) -> None:
    # Each part is copied into the result (vectorised, strided where the
    # slices are) instead of a generic picking every element by index.
    module = PatchMerging()
    x, i = torch.randn(1, 6, 6, 8), torch.randint(-3, 3, (1, 6, 6, 8))
    text = attn_opt.to_mlir(module, (x, i))
    run_attn_opt(attn_opt_tool, text, "--canonicalize")  # verifies
    assert text.count("tensor.insert_slice") == 6, text
    assert "tensor.extract %" not in text
    out, mixed = attn_opt.compile(module, (x, i))(x, i)
    want, want_mixed = module(x, i)
    torch.testing.assert_close(out, want)
    torch.testing.assert_close(mixed, want_mixed)
