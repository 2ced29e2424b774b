"""PyTorch's own attention modules, captured with torch.export.

Each module is compiled with one set of example inputs and checked against
eager PyTorch on *other* inputs of the same shapes (masks included), and the
emitted IR must reach the fused attn.attention form after
``attn-opt --canonicalize --attn-fuse-attention``.
"""

from __future__ import annotations

import re
from typing import Any, Sequence, Tuple

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import attn_opt
from conftest import run_attn_opt

# f32 tolerances, as for G1-G9 (test_graphs.py): rtol 2e-4 as the brief asks;
# atol 1e-5 because the outputs here are O(1) (LayerNorm outputs and
# projections of unit-variance inputs, |y| <= ~5, one f32 ulp <= 4.8e-7) and
# the compiled code sums dot products (<= 64 terms), softmax rows and
# LayerNorm statistics in another order than PyTorch's kernels, so entries
# whose own value is near 0 (where rtol gives nothing) move by a few ulps of
# the operands. Largest difference measured across these tests: 9.5e-7
# (printed by each test with -s), so 1e-5 keeps a 10x margin.
RTOL, ATOL = 2e-4, 1e-5


def _randomize(module: nn.Module, seed: int) -> nn.Module:
    """Random weights *and biases* (PyTorch initialises MHA's biases to zero,
    which would hide a bias that is dropped or added twice)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() == 1 and ("norm" in name or name.startswith("ln")) and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p.shape[-1] if p.dim() > 1 else 16
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
    return module.eval()


def _fused_count(tool, text: str) -> Tuple[int, str]:
    out = run_attn_opt(tool, text, "--canonicalize", "--attn-fuse-attention")
    return len(re.findall(r"= attn\.attention ", out)), out


def _eager(module: nn.Module, inputs: Sequence[Any]) -> Any:
    with torch.no_grad():
        return module(*inputs)


def _max_error(got: torch.Tensor, ref: torch.Tensor) -> float:
    return float((got.double() - ref.double()).abs().max())


def _check(name: str, module: nn.Module, example: Sequence[Any], test: Sequence[Any], fused: int,
           tool) -> Any:
    """Compiles with ``example``, compares with eager on ``test``; returns
    the compiled output on ``test``."""
    text = attn_opt.to_mlir(module, example)
    count, _ = _fused_count(tool, text)
    assert count == fused, f"{name}: {count} attn.attention after fusion, expected {fused}"
    compiled = attn_opt.compile(module, example)
    got = compiled(*test)
    ref = _eager(module, test)
    got0 = got[0] if isinstance(got, tuple) else got
    ref0 = ref[0] if isinstance(ref, tuple) else ref
    assert got0.shape == ref0.shape and got0.dtype == ref0.dtype
    finite = torch.isfinite(ref0)
    print(f"{name}: max abs error {_max_error(got0[finite], ref0[finite]):.3e} "
          f"(max |ref| {float(ref0[finite].abs().max()):.3f}), fused {count}")
    return got, ref


def _new(x: torch.Tensor, seed: int) -> torch.Tensor:
    return torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))


# -- nn.MultiheadAttention -------------------------------------------------

E, H = 32, 4


@pytest.mark.parametrize("batch_first", [True, False])
def test_mha_self_key_padding_all_masked_row(batch_first: bool, attn_opt_tool, compiler) -> None:
    mha = _randomize(nn.MultiheadAttention(E, H, batch_first=batch_first), 1)
    b, n = 3, 7
    shape = (b, n, E) if batch_first else (n, b, E)
    x, x2 = torch.randn(shape), _new(torch.empty(shape), 11)
    kpm = torch.zeros(b, n, dtype=torch.bool)
    kpm[0, 5:] = True
    kpm2 = torch.zeros(b, n, dtype=torch.bool)  # another mask, same shape
    kpm2[1, 2:] = True
    kpm2[2, :] = True  # every key masked for batch element 2
    (got, weights), (ref, _) = _check(f"MHA self batch_first={batch_first}", mha, (x, x, x, kpm, False),
                                      (x2, x2, x2, kpm2, False), 1, attn_opt_tool)
    assert weights is None
    row = (slice(2, 3), slice(None)) if batch_first else (slice(None), slice(2, 3))
    kept = (slice(0, 2), slice(None)) if batch_first else (slice(None), slice(0, 2))
    # A row whose keys are all masked attends to nothing: attn.attention
    # gives 0 weights, as PyTorch 2.x's composite path (_safe_softmax) does,
    # so the output there is exactly the out-projection's bias. (Eager's
    # batch_first inference fast path gives NaN there instead.)
    bias = mha.out_proj.bias.detach().expand_as(got[row])
    assert torch.isnan(ref[row]).all() or torch.equal(ref[row], bias)
    torch.testing.assert_close(got[row], bias, rtol=0, atol=0)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got[kept], ref[kept], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("batch_first", [True, False])
def test_mha_cross_bool_attn_mask_and_key_padding(batch_first: bool, attn_opt_tool, compiler) -> None:
    mha = _randomize(nn.MultiheadAttention(E, H, batch_first=batch_first), 2)
    b, lq, lk = 2, 5, 9
    qs = (b, lq, E) if batch_first else (lq, b, E)
    ks = (b, lk, E) if batch_first else (lk, b, E)
    q, k, v = torch.randn(qs), torch.randn(ks), torch.randn(ks)
    mask = torch.rand(lq, lk) > 0.7
    mask[:, 0] = False  # every query sees key 0
    kpm = torch.zeros(b, lk, dtype=torch.bool)
    kpm[1, -3:] = True
    mask2 = torch.rand(lq, lk) > 0.5
    mask2[:, 1] = False
    kpm2 = torch.zeros(b, lk, dtype=torch.bool)
    kpm2[0, -2:] = True
    test = (_new(q, 1), _new(k, 2), _new(v, 3), kpm2, False, mask2)
    got, ref = _check(f"MHA cross bool mask batch_first={batch_first}", mha, (q, k, v, kpm, False, mask), test, 1,
                      attn_opt_tool)
    torch.testing.assert_close(got[0], ref[0], rtol=RTOL, atol=ATOL)


def test_mha_float_attn_mask_key_is_value(attn_opt_tool, compiler) -> None:
    """Encoder-decoder form (key is value): the packed in-projection is split
    in q and kv; float (additive) causal mask with finite and -inf entries."""
    mha = _randomize(nn.MultiheadAttention(E, H), 3)
    lq, lk, b = 6, 6, 2
    q, kv = torch.randn(lq, b, E), torch.randn(lk, b, E)
    causal = nn.Transformer.generate_square_subsequent_mask(lq)
    mask = causal + 0.1 * torch.randn(lq, lk)
    mask2 = causal + 0.1 * torch.randn(lq, lk)
    kv2 = _new(kv, 5)
    got, ref = _check("MHA float mask", mha, (q, kv, kv, None, False, mask), (_new(q, 4), kv2, kv2, None, False, mask2),
                      1, attn_opt_tool)
    torch.testing.assert_close(got[0], ref[0], rtol=RTOL, atol=ATOL)


def test_mha_need_weights_is_not_fused(attn_opt_tool, compiler) -> None:
    """need_weights=True returns the head-averaged probabilities, so the
    softmax has a second user and the chain cannot fuse (attn-opt says
    'the probabilities are used elsewhere'); it still compiles and matches."""
    mha = _randomize(nn.MultiheadAttention(E, H, batch_first=True), 4)
    x = torch.randn(2, 5, E)
    x2 = _new(x, 6)
    got, ref = _check("MHA need_weights=True", mha, (x, x, x), (x2, x2, x2), 0, attn_opt_tool)
    torch.testing.assert_close(got[0], ref[0], rtol=RTOL, atol=ATOL)
    torch.testing.assert_close(got[1], ref[1], rtol=RTOL, atol=ATOL)
    out = run_attn_opt(attn_opt_tool, attn_opt.to_mlir(mha, (x, x, x)), "--canonicalize",
                       "--attn-fuse-attention=remarks=true")
    assert "attn.softmax" in out


# -- nn.TransformerEncoderLayer / Encoder / DecoderLayer --------------------

@pytest.mark.parametrize("norm_first,activation,batch_first",
                         [(False, "relu", True), (True, "gelu", True), (True, "relu", False), (False, "gelu", False)])
def test_transformer_encoder_layer(norm_first: bool, activation: str, batch_first: bool, attn_opt_tool,
                                   compiler) -> None:
    layer = _randomize(nn.TransformerEncoderLayer(E, H, dim_feedforward=48, activation=activation,
                                                  norm_first=norm_first, batch_first=batch_first), 5)
    b, n = 2, 6
    shape = (b, n, E) if batch_first else (n, b, E)
    x = torch.randn(shape)
    kpm = torch.zeros(b, n, dtype=torch.bool)
    kpm[1, 4:] = True
    kpm2 = torch.zeros(b, n, dtype=torch.bool)
    kpm2[0, 3:] = True
    got, ref = _check(f"EncoderLayer norm_first={norm_first} {activation} batch_first={batch_first}", layer,
                      (x, None, kpm), (_new(x, 7), None, kpm2), 1, attn_opt_tool)
    torch.testing.assert_close(got, ref, rtol=RTOL, atol=ATOL)


def test_transformer_encoder_two_layers(attn_opt_tool, compiler) -> None:
    layer = nn.TransformerEncoderLayer(E, H, dim_feedforward=48, batch_first=True)
    encoder = _randomize(nn.TransformerEncoder(layer, num_layers=2), 6)
    x = torch.randn(2, 6, E)
    kpm = torch.zeros(2, 6, dtype=torch.bool)
    kpm[0, 4:] = True
    kpm2 = torch.zeros(2, 6, dtype=torch.bool)
    kpm2[1, 2:] = True
    x2 = _new(x, 8)
    got, ref = _check("TransformerEncoder x2", encoder, (x, None, kpm), (x2, None, kpm2), 2, attn_opt_tool)
    # Eager (no grad, eval) takes the nested-tensor fast path, which returns
    # 0 at padded query positions; the composite path computes them. Compare
    # the valid positions with that, and everything with the composite path.
    valid = ~kpm2
    torch.testing.assert_close(got[valid], ref[valid], rtol=RTOL, atol=ATOL)
    assert torch.equal(ref[~valid], torch.zeros_like(ref[~valid]))
    with torch.enable_grad():
        slow = encoder(x2.clone().requires_grad_(True), None, kpm2).detach()
    print(f"TransformerEncoder x2 vs composite path: max abs error {_max_error(got, slow):.3e}")
    torch.testing.assert_close(got, slow, rtol=RTOL, atol=ATOL)


def test_transformer_decoder_layer(attn_opt_tool, compiler) -> None:
    layer = _randomize(nn.TransformerDecoderLayer(E, H, dim_feedforward=48, batch_first=True), 7)
    tgt, memory = torch.randn(2, 5, E), torch.randn(2, 8, E)
    causal = nn.Transformer.generate_square_subsequent_mask(5)
    mkpm = torch.zeros(2, 8, dtype=torch.bool)
    mkpm[1, 6:] = True
    mkpm2 = torch.zeros(2, 8, dtype=torch.bool)
    mkpm2[0, 5:] = True
    got, ref = _check("TransformerDecoderLayer", layer, (tgt, memory, causal, None, None, mkpm),
                      (_new(tgt, 9), _new(memory, 10), causal, None, None, mkpm2), 2, attn_opt_tool)
    torch.testing.assert_close(got, ref, rtol=RTOL, atol=ATOL)


class _CausalDecoder(nn.Module):
    """A decoder layer whose causal mask is built in forward (float, -inf
    above the diagonal) or kept as a boolean triu buffer."""

    def __init__(self, boolean: bool) -> None:
        super().__init__()
        self.layer = nn.TransformerDecoderLayer(E, H, dim_feedforward=48, batch_first=True)
        self.boolean = boolean
        self.register_buffer("triu", torch.triu(torch.ones(6, 6, dtype=torch.bool), 1))

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        mask = self.triu if self.boolean else nn.Transformer.generate_square_subsequent_mask(tgt.shape[1])
        return self.layer(tgt, memory, tgt_mask=mask)


class _PaddedCausalDecoder(_CausalDecoder):
    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        mask = nn.Transformer.generate_square_subsequent_mask(tgt.shape[1])
        return self.layer(tgt, memory, tgt_mask=mask, tgt_key_padding_mask=padding)


def test_causal_mask_with_key_padding_splits_off(attn_opt_tool, compiler) -> None:
    """MHA merges the causal tgt_mask with the key padding mask
    (masked_fill of the causal constant); the causal part becomes the flag and
    only the padding stays a mask."""
    module = _randomize(_PaddedCausalDecoder(False), 13)
    tgt, memory = torch.randn(2, 6, E), torch.randn(2, 8, E)
    padding = torch.zeros(2, 6, dtype=torch.bool)
    padding[1, 4:] = True
    padding2 = torch.zeros(2, 6, dtype=torch.bool)
    padding2[0, 3:] = True
    text = attn_opt.to_mlir(module, (tgt, memory, padding))
    fused = run_attn_opt(attn_opt_tool, text, "--canonicalize", "--attn-fuse-attention", "--canonicalize")
    attentions = [line for line in fused.splitlines() if "= attn.attention " in line]
    assert len(attentions) == 2
    assert sum(" causal " in line and "mask(" in line for line in attentions) == 1, attentions
    got = attn_opt.compile(module, (tgt, memory, padding))(_new(tgt, 14), _new(memory, 15), padding2)
    ref = _eager(module, (_new(tgt, 14), _new(memory, 15), padding2))
    print(f"causal decoder with key padding: max abs error {_max_error(got, ref):.3e}")
    torch.testing.assert_close(got, ref, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("boolean", [False, True])
def test_constant_causal_mask_becomes_causal_flag(boolean: bool, attn_opt_tool, compiler) -> None:
    """A causal mask that is a constant of the graph is recognised as such:
    the self-attention is `causal` with no mask tensor (so masked blocks are
    skipped), the cross-attention stays unmasked."""
    module = _randomize(_CausalDecoder(boolean), 11)
    tgt, memory = torch.randn(2, 6, E), torch.randn(2, 8, E)
    text = attn_opt.to_mlir(module, (tgt, memory))
    count, fused = _fused_count(attn_opt_tool, text)
    fused = run_attn_opt(attn_opt_tool, fused, "--canonicalize")
    attentions = [line for line in fused.splitlines() if "= attn.attention " in line]
    assert count == 2 and len(attentions) == 2
    assert sum(" causal " in line for line in attentions) == 1
    assert not any("mask(" in line for line in attentions), attentions
    got = attn_opt.compile(module, (tgt, memory))(_new(tgt, 12), _new(memory, 13))
    ref = _eager(module, (_new(tgt, 12), _new(memory, 13)))
    print(f"causal decoder ({'bool' if boolean else 'float'} mask): max abs error {_max_error(got, ref):.3e}")
    torch.testing.assert_close(got, ref, rtol=RTOL, atol=ATOL)


# -- torchvision -------------------------------------------------------------

def test_torchvision_vit_encoder_block(attn_opt_tool, compiler) -> None:
    vit = pytest.importorskip("torchvision.models.vision_transformer")
    block = _randomize(vit.EncoderBlock(num_heads=4, hidden_dim=E, mlp_dim=64, dropout=0.0,
                                        attention_dropout=0.0), 8)
    x = torch.randn(2, 17, E)
    got, ref = _check("torchvision EncoderBlock", block, (x,), (_new(x, 12),), 1, attn_opt_tool)
    torch.testing.assert_close(got, ref, rtol=RTOL, atol=ATOL)


def test_torchvision_small_vision_transformer(attn_opt_tool, compiler) -> None:
    """A whole (small) torchvision VisionTransformer: patch-embedding conv
    (stride == kernel: rearrange + einsum), class token concat, positional
    embedding, two encoder blocks, final LayerNorm, head."""
    vit = pytest.importorskip("torchvision.models.vision_transformer")
    torch.manual_seed(0)
    model = _randomize(vit.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                                             hidden_dim=E, mlp_dim=64, num_classes=10), 9)
    x = torch.randn(2, 3, 32, 32)
    text = attn_opt.to_mlir(model, (x,))
    # The class token's concat: one insert per part, no per-element gather.
    assert 'attn.einsum "b c h p w q, o c p q -> b o h w"' in text and "tensor.insert_slice" in text
    got, ref = _check("torchvision VisionTransformer (small)", model, (x,), (_new(x, 13),), 2, attn_opt_tool)
    torch.testing.assert_close(got, ref, rtol=RTOL, atol=ATOL)


def test_torchvision_shifted_window_attention(attn_opt_tool, compiler) -> None:
    """Swin's ShiftedWindowAttention at swin_t's first-stage shape (56x56x96
    feature map, 7x7 windows, 3 heads, shift 3): window padding (none
    needed), cyclic shift by torch.roll, window partition by view/permute,
    relative position bias gathered by index (folded to a constant), the
    shift mask built by slice assignment (folded), both added to the scores:
    one fused attention with their sum as its additive mask."""
    swin = pytest.importorskip("torchvision.models.swin_transformer")
    block = _randomize(swin.ShiftedWindowAttention(96, [7, 7], [3, 3], 3), 15)
    x = torch.randn(1, 56, 56, 96)
    text = attn_opt.to_mlir(block, (x,))
    assert text.count("tensor.extract %") >= 2  # the two rolls
    got, ref = _check("torchvision ShiftedWindowAttention (56x56x96, shift 3)", block, (x,), (_new(x, 16),), 1,
                      attn_opt_tool)
    torch.testing.assert_close(got, ref, rtol=RTOL, atol=ATOL)


def test_torchvision_shifted_window_attention_padded(attn_opt_tool, compiler) -> None:
    """A feature map that is no multiple of the window (10x9, window 4):
    F.pad to 12x12, the shift, and the crop back."""
    swin = pytest.importorskip("torchvision.models.swin_transformer")
    block = _randomize(swin.ShiftedWindowAttention(16, [4, 4], [2, 2], 2), 17)
    x = torch.randn(2, 10, 9, 16)
    got, ref = _check("torchvision ShiftedWindowAttention (padded)", block, (x,), (_new(x, 18),), 1, attn_opt_tool)
    torch.testing.assert_close(got, ref, rtol=RTOL, atol=ATOL)


def test_torchvision_small_swin_transformer(attn_opt_tool, compiler) -> None:
    """A whole (small) torchvision SwinTransformer: 4x4 patch embedding
    convolution, two stages (the second after patch merging, whose 2x2
    gathers are strided slices and a concat), shifted and unshifted blocks,
    adaptive average pooling and the head; every attention fused."""
    swin = pytest.importorskip("torchvision.models.swin_transformer")
    model = _randomize(swin.SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 2], num_heads=[2, 4],
                                            window_size=[4, 4], num_classes=10), 19)
    x = torch.randn(1, 3, 64, 64)
    got, ref = _check("torchvision SwinTransformer (small)", model, (x,), (_new(x, 20),), 4, attn_opt_tool)
    torch.testing.assert_close(got, ref, rtol=RTOL, atol=ATOL)


# -- the compiled callable is native code ----------------------------------

def test_compiled_call_never_calls_back_into_torch(compiler, monkeypatch) -> None:
    mha = _randomize(nn.MultiheadAttention(E, H, batch_first=True), 10)
    x = torch.randn(2, 5, E)
    kpm = torch.zeros(2, 5, dtype=torch.bool)
    compiled = attn_opt.compile(mha, (x, x, x, kpm, False))
    x2 = _new(x, 14)
    expected = compiled(x2, x2, x2, kpm, False)[0]  # warm: nothing left to build

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the compiled callable called back into PyTorch")

    for owner, name in ((torch, "matmul"), (torch, "bmm"), (torch, "baddbmm"), (torch, "softmax"),
                        (torch, "_native_multi_head_attention"), (F, "softmax"), (F, "linear"),
                        (F, "multi_head_attention_forward"), (torch.Tensor, "softmax"),
                        (torch.Tensor, "__matmul__"), (nn.MultiheadAttention, "forward")):
        if hasattr(owner, name):
            monkeypatch.setattr(owner, name, forbidden)
    with pytest.raises(AssertionError, match="called back"):
        mha(x2, x2, x2, kpm, False)  # the patches are live
    got = compiled(x2, x2, x2, kpm, False)[0]
    assert torch.equal(got, expected)


def test_self_attention_specialisation_is_keyed_on_identity(compiler) -> None:
    """mha(x, x, x) traces the self-attention branch; the same compiled
    object called with three different tensors must not reuse it."""
    mha = _randomize(nn.MultiheadAttention(16, 2, batch_first=True), 11)
    x = torch.randn(2, 4, 16)
    compiled = attn_opt.compile(mha, (x, x, x, None, False))
    q, k, v = torch.randn(2, 4, 16), torch.randn(2, 4, 16), torch.randn(2, 4, 16)
    got = compiled(q, k, v, None, False)[0]
    torch.testing.assert_close(got, _eager(mha, (q, k, v, None, False))[0], rtol=RTOL, atol=ATOL)


def test_unsupported_op_is_named_with_its_line() -> None:
    class Sorts(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.sort(x, dim=-1).values

    with pytest.raises(attn_opt.UnsupportedOperationError, match=r"aten\.sort\.\w+(.|\n)*test_torch_modules\.py"):
        attn_opt.to_mlir(Sorts(), (torch.randn(2, 3),))


@pytest.mark.parametrize("b,n", [(1, 17), (2, 70)])
def test_batch_one_and_partial_tiles_link(b: int, n: int, compiler) -> None:
    """Batch 1 (strided head-split copies) and sequence lengths that leave
    partial flash tiles copy between strided buffers; the pipeline lowers
    those copies to loops, so the .so links without MLIR's runtime."""
    mha = _randomize(nn.MultiheadAttention(E, H, batch_first=True), 12)
    x = torch.randn(b, n, E)
    x2 = _new(x, 15)
    got = attn_opt.compile(mha, (x, x, x, None, False))(x2, x2, x2, None, False)[0]
    torch.testing.assert_close(got, _eager(mha, (x2, x2, x2, None, False))[0], rtol=RTOL, atol=ATOL)
