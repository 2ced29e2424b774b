"""The model zoo's CI subset: one small model per family (d2l, vit-pytorch,
timm, HF transformers, x-transformers) compiles, matches eager PyTorch on
fresh inputs and fuses every attention it has. The full zoo runs with
`python -m attn_opt.zoo` (README, "Model zoo")."""

from __future__ import annotations

import pytest
import torch

from attn_opt.zoo import entries, run_entry
from attn_opt.zoo.corpus import Entry

CI = [e for e in entries() if e.ci]


def test_one_model_per_family() -> None:
    assert sorted(e.family for e in CI) == sorted({e.family for e in entries()})


@pytest.mark.parametrize("entry", CI, ids=lambda e: f"{e.family}:{e.name}")
def test_zoo_ci_model(entry, compiler) -> None:
    row = run_entry(entry, small=True, runs=0)
    assert row.compiled and row.matched, row.note
    assert row.attentions > 0 and row.fused == row.attentions, (row.fused, row.attentions, row.note)


class _SliceAssignedScores(torch.nn.Module):
    """MViTv2's relative position terms: written into the scores by slice
    assignment (aten.copy / slice_scatter after functionalisation)."""

    def forward(self, q, k, v, rh, rw):
        attn = (q * 8 ** -0.5) @ k.transpose(-2, -1)
        attn[:, :, 1:, 1:] = (attn[:, :, 1:, 1:].view(1, -1, 2, 2, 2, 2) + rh[:, :, :, :, :, None]
                              + rw[:, :, :, :, None, :]).view(1, -1, 4, 4)
        return attn.softmax(-1) @ v


def test_attention_count_sees_through_slice_assignment(compiler) -> None:
    def build(small):
        def inputs(seed):
            g = torch.Generator().manual_seed(seed)
            return tuple(torch.randn(s, generator=g) for s in [(1, 2, 5, 8)] * 3 + [(1, 2, 2, 2, 2)] * 2)
        return _SliceAssignedScores().eval(), inputs
    row = run_entry(Entry("test", "slice-assigned scores", build), small=True, runs=0)
    assert row.compiled and row.matched, row.note
    assert row.attentions == 1, row
    assert row.fused == 1, row.note  # attn-fold-slice-updates


def test_a_slower_row_says_why(compiler) -> None:
    """explain_slowdown times both sides again on one thread: a compiled
    side slower there too is the code's loss, faster there the threads'."""
    import time

    import attn_opt
    from attn_opt.zoo.runner import Row, explain_slowdown, parallel_regions

    small = attn_opt.compile(torch.nn.Softmax(-1), (torch.randn(4, 8),))
    assert parallel_regions(small.library_path) == 0  # built without OpenMP
    big = attn_opt.compile(torch.nn.Softmax(-1), (torch.randn(512, 4096),))
    assert parallel_regions(big.library_path) >= 1

    quick, slow = (lambda: None), (lambda: time.sleep(0.002))
    row = Row("test", "slow code")
    explain_slowdown(row, [quick, slow], big.library_path, runs=3)
    assert row.one_thread_speedup < 1 and row.slower_because.startswith("code:"), row
    row = Row("test", "slow threads")
    explain_slowdown(row, [slow, quick], big.library_path, runs=3)
    assert row.one_thread_speedup > 1 and row.slower_because.startswith("threads:"), row
    assert f"{row.parallel_regions} parallel regions" in row.slower_because
    assert torch.get_num_threads() >= 1


def test_deepvit_reattention_fuses(compiler) -> None:
    """DeepViT's re-attention (probabilities mixed across heads, then a
    LayerNorm over the heads, before P·V) takes attn-fuse-attention's
    two-pass form: every attention fuses and the model matches eager."""
    from attn_opt.capture import lower
    from attn_opt.explain import remarks_of

    entry = next(e for e in entries() if e.family == "vit-pytorch" and e.name == "DeepViT")
    row = run_entry(entry, small=True, runs=0)
    assert row.compiled and row.matched, row.note
    assert row.error <= 1e-4, row.error
    assert row.attentions == 2 and row.fused == 2, (row.fused, row.attentions, row.note)
    model, inputs = entry.build(True)
    lowered, _ = lower(model, inputs(0), strict=False)
    remarks = remarks_of(lowered.mlir)
    assert [r.fused for r in remarks] == [True, True], remarks
    assert all("two-pass re-attention" in r.message for r in remarks), remarks


@pytest.mark.parametrize("family,name", [("vit-pytorch", "CaiT"), ("timm", "cait_xxs24_224")])
def test_talking_heads_fuse_as_row_blocks(family, name, compiler, monkeypatch) -> None:
    """CaiT's talking heads (scores and probabilities mixed across heads;
    vit-pytorch as einsums, timm as Linears over the permuted head axis with
    a bias): the frontend writes each mix as one einsum in the scores' own
    layout, and attn-fuse-attention turns every such chain into its
    row-block nest (lib/Dialect/Attn/Transforms/FuseTalkingHeads.cpp): every
    attention fuses, each talking-heads one with that remark, and the model
    matches eager. Above MATERIALISE_LIMIT the frontend's own fused forms
    (Q' Kᵀ over all heads' features, P V over all heads' values) take over;
    they match eager too."""
    from attn_opt.capture import lower
    from attn_opt.explain import remarks_of
    from attn_opt.ops import talking_heads

    entry = next(e for e in entries([family]) if e.name == name)
    row = run_entry(entry, small=True, runs=0)
    assert row.compiled and row.matched, row.note
    assert row.error <= 1e-4, row.error
    model, inputs = entry.build(True)
    lowered, _ = lower(model, inputs(0), strict=False)
    remarks = remarks_of(lowered.mlir)
    talking = [r for r in remarks if "fused attention (talking heads, row blocks)" in r.message]
    assert talking and len(talking) == len(remarks), remarks
    assert row.fused == row.attentions, (row.fused, row.attentions, remarks)
    # timm's class-attention blocks (F.scaled_dot_product_attention, no
    # head mix) fuse as usual, without a remark.
    assert (row.attentions > len(talking)) == (family == "timm"), (row.attentions, remarks)
    # Two mixes per attention, each an einsum in the scores' own layout.
    mixes = [l for l in lowered.mlir.splitlines() if "attn.einsum" in l and ("bhij,hg->bgij" in l or "abcd,bz->azcd" in l)]
    assert len(mixes) == 2 * len(talking), lowered.mlir

    monkeypatch.setattr(talking_heads, "MATERIALISE_LIMIT", -1)
    row = run_entry(entry, small=True, runs=0)
    assert row.compiled and row.matched, row.note
    assert row.fused == row.attentions > 0, (row.fused, row.attentions, row.note)
