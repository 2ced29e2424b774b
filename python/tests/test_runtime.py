"""compile(): caching, new shapes, numpy in/out, several outputs, bad inputs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

import attn_opt


class TwoOutputs(nn.Module):
    def forward(self, x: torch.Tensor):
        return x.softmax(-1), x * 2.0 + 1.0


def test_several_outputs_and_new_shapes(compiler) -> None:
    module = TwoOutputs()
    x = torch.randn(3, 5)
    compiled = attn_opt.compile(module, (x,))
    p, y = compiled(x)
    torch.testing.assert_close(p, x.softmax(-1), rtol=2e-4, atol=1e-6)
    torch.testing.assert_close(y, x * 2 + 1)
    # A different shape compiles a new variant instead of reading garbage.
    x2 = torch.randn(4, 7)
    p2, _ = compiled(x2)
    torch.testing.assert_close(p2, x2.softmax(-1), rtol=2e-4, atol=1e-6)
    # numpy in -> numpy out.
    out = compiled(x.numpy())
    assert isinstance(out[0], np.ndarray)
    np.testing.assert_allclose(out[0], x.softmax(-1).numpy(), rtol=2e-4, atol=1e-6)


def test_cache_is_keyed_by_ir(compiler) -> None:
    x = torch.randn(2, 4)
    first = attn_opt.compile(TwoOutputs(), (x,))
    second = attn_opt.compile(TwoOutputs(), (x,))
    assert first.library_path == second.library_path
    assert Path(os.environ["ATTN_OPT_CACHE_DIR"]) in first.library_path.parents
    assert first.header_path.read_text().count("_mlir_ciface_forward") >= 1
    third = attn_opt.compile(TwoOutputs(), (torch.randn(2, 5),))
    assert third.library_path != first.library_path


def test_missing_attn_run_is_a_clear_error(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ATTN_OPT_BUILD_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(attn_opt.ToolError, match="attn-run not found"):
        attn_opt.compile(TwoOutputs(), (torch.randn(2, 3),))


def test_at_best_thread_count_reports_every_count() -> None:
    """The model runner and bench/ report eager PyTorch at 1 and N threads
    (vit_b_16 differs 3x between them here); the best is the faster one."""
    import torch

    from attn_opt.models import at_best_thread_count

    saved = torch.get_num_threads()
    every: dict = {}
    a = torch.randn(64, 64)
    best, threads = at_best_thread_count(lambda: a @ a, runs=3, threads=2, every=every)
    assert set(every) == {1, 2} and best == min(every.values()) and every[threads] == best
    assert torch.get_num_threads() == saved
