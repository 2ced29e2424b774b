"""The model zoo's CI subset: one small model per family (d2l, vit-pytorch,
timm, HF transformers, x-transformers) compiles, matches eager PyTorch on
fresh inputs and fuses every attention it has. The full zoo runs with
`python -m attn_opt.zoo` (README, "Model zoo")."""

from __future__ import annotations

import pytest

from attn_opt.zoo import entries, run_entry

CI = [e for e in entries() if e.ci]


def test_one_model_per_family() -> None:
    assert sorted(e.family for e in CI) == sorted({e.family for e in entries()})


@pytest.mark.parametrize("entry", CI, ids=lambda e: f"{e.family}:{e.name}")
def test_zoo_ci_model(entry, compiler) -> None:
    row = run_entry(entry, small=True, runs=0)
    assert row.compiled and row.matched, row.note
    assert row.attentions > 0 and row.fused == row.attentions, (row.fused, row.attentions, row.note)
