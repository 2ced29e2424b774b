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


# -- weights are runtime parameters -------------------------------------------

class _Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(8, 8)
        self.norm = nn.LayerNorm(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x)).softmax(-1)


def test_load_state_dict_takes_effect_without_recompiling(compiler) -> None:
    torch.manual_seed(1)
    module, other = _Block().eval(), _Block().eval()
    x = torch.randn(3, 4, 8)
    compiled = attn_opt.compile(module, (x,))
    before = compiled(x)
    module.load_state_dict(other.state_dict())
    after = compiled(x)
    with torch.no_grad():
        torch.testing.assert_close(after, other(x), rtol=2e-4, atol=1e-6)
        assert not torch.allclose(before, after)
    assert compiled.variants == 1
    # In-place updates of one parameter are seen too.
    with torch.no_grad():
        module.proj.bias.add_(1.0)
        torch.testing.assert_close(compiled(x), module(x), rtol=2e-4, atol=1e-6)


def test_two_models_of_one_architecture_share_the_library(compiler) -> None:
    x = torch.randn(2, 4, 8)
    a = attn_opt.compile(_Block().eval(), (x,))
    b = attn_opt.compile(_Block().eval(), (x,))
    assert a.library_path == b.library_path
    assert "dense<\"0x" not in a.mlir


def test_truncated_cached_library_is_rebuilt(compiler) -> None:
    """A cache hit is checked against the size and hash recorded at build
    time: a truncated .so is rebuilt instead of crashing dlopen (SIGBUS)."""
    from attn_opt.capture import lower
    from attn_opt.runtime import build_library, cpu_build_args
    x = torch.randn(2, 11)  # a shape no other test loads into this process
    lowered = lower(TwoOutputs(), (x,))[0]
    path, _ = build_library(lowered.mlir, extra_args=cpu_build_args(lowered))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # as a crash mid-write leaves it
    again = attn_opt.compile(TwoOutputs(), (x,))
    assert again.library_path == path and path.read_bytes() == data
    torch.testing.assert_close(again(x)[0], x.softmax(-1), rtol=2e-4, atol=1e-6)


class _MaskBuffer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("keep", torch.ones(4, dtype=torch.bool))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.masked_fill(~self.keep, float("-inf")).softmax(-1)


def test_changed_buffer_recompiles(compiler) -> None:
    """Buffers are compiled into the IR (masks must be visible to fusion);
    changing one compiles again instead of answering with the old value."""
    module = _MaskBuffer()
    x = torch.randn(3, 4)
    compiled = attn_opt.compile(module, (x,))
    module.keep[1] = False
    torch.testing.assert_close(compiled(x), module(x), rtol=2e-4, atol=1e-6)


def test_cache_key_follows_the_micro_kernel_archive(tmp_path):
    """Libraries link lib/libattn_ukernels.a statically: rebuilding the
    kernels (attn-run unchanged) must not reuse libraries built before."""
    import os

    from attn_opt import runtime

    (tmp_path / "bin").mkdir()
    (tmp_path / "lib").mkdir()
    tool = tmp_path / "bin" / "attn-run"
    tool.write_text("#!/bin/sh\n")
    archive = tmp_path / "lib" / "libattn_ukernels.a"
    archive.write_text("v1")
    before = runtime._tool_identity(tool)
    archive.write_text("v2 longer")
    os.utime(archive, ns=(1, 10**18))
    assert runtime._tool_identity(tool) != before


def test_cache_key_follows_the_host_cpu(tmp_path, monkeypatch):
    """attn-run compiles for the host CPU (instructions, the exp expansion,
    bf16 flash products on Zen 4): a cache shared by two machines must key
    their libraries apart, and one machine's key must be stable."""
    from attn_opt import runtime

    tool = tmp_path / "attn-run"
    tool.write_text("#!/bin/sh\n")
    here = runtime.cache_key(tool, "forward", [], "module {}")
    assert runtime.cache_key(tool, "forward", [], "module {}") == here
    assert runtime._host_identity() == runtime._host_identity()
    monkeypatch.setattr(runtime, "_HOST", "another-cpu")
    assert runtime.cache_key(tool, "forward", [], "module {}") != here


class SharedResults(nn.Module):
    """Results that alias: the input itself, one tensor returned twice, and a
    view of a computed one."""

    def forward(self, x: torch.Tensor):
        y = x * 3.0
        return x, y, y, y.transpose(0, 1), (x + 1.0).sum(-1)


def test_results_own_their_memory(compiler) -> None:
    # Dense results become the returned tensors' storage (no copy); aliased
    # ones are copied. Either way each call's results are its own, survive
    # the compiled module, and are freed exactly once (a double free or a
    # use after free aborts or corrupts the values checked here).
    x = torch.randn(4, 6)
    compiled = attn_opt.compile(SharedResults(), (x,))
    first = compiled(x)
    second = compiled(x + 1.0)
    want = SharedResults()(x)
    for got, ref in zip(first, want):
        torch.testing.assert_close(got, ref)
    torch.testing.assert_close(second[1], (x + 1.0) * 3.0)
    assert first[0].data_ptr() != x.data_ptr()  # the input is not handed back
    first[1].add_(100.0)  # results are writable and independent of each other
    torch.testing.assert_close(first[2], x * 3.0)
    del compiled
    for _ in range(3):
        import gc
        gc.collect()
    torch.testing.assert_close(first[4], (x + 1.0).sum(-1))
    torch.testing.assert_close(second[3], ((x + 1.0) * 3.0).t())


def test_concurrent_calls_from_threads(compiler) -> None:
    # Each thread has its own argument descriptors.
    from concurrent.futures import ThreadPoolExecutor
    module = TwoOutputs()
    compiled = attn_opt.compile(module, (torch.randn(8, 16),))
    inputs = [torch.randn(8, 16) for _ in range(16)]
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda t: compiled(t), inputs))
    for t, (p, y) in zip(inputs, outs):
        torch.testing.assert_close(p, t.softmax(-1), rtol=2e-4, atol=1e-6)
        torch.testing.assert_close(y, t * 2 + 1)


def test_swapped_parameter_data_is_seen(compiler) -> None:
    # `p.data = ...` replaces a parameter's tensor without bumping its
    # version: the load step still reruns (the key holds the storage too).
    torch.manual_seed(2)
    module = _Block().eval()
    x = torch.randn(3, 4, 8)
    compiled = attn_opt.compile(module, (x,))
    compiled(x)
    with torch.no_grad():
        module.proj.weight.data = torch.randn_like(module.proj.weight)
        torch.testing.assert_close(compiled(x), module(x), rtol=2e-4, atol=1e-6)


def test_replaced_parameters_and_submodules_are_seen(compiler) -> None:
    # The load step reads every weight through the module tree at each call:
    # a new Parameter object, and a whole new submodule, are what the next
    # call computes with.
    torch.manual_seed(3)
    module = _Block().eval()
    x = torch.randn(3, 4, 8)
    compiled = attn_opt.compile(module, (x,))
    compiled(x)
    with torch.no_grad():
        module.proj.weight = nn.Parameter(torch.randn(8, 8))
        torch.testing.assert_close(compiled(x), module(x), rtol=2e-4, atol=1e-6)
        module.norm = nn.LayerNorm(8)
        module.norm.weight.mul_(3.0)
        torch.testing.assert_close(compiled(x), module(x), rtol=2e-4, atol=1e-6)
    assert compiled.variants == 1


def test_module_converted_after_compiling_is_a_clear_error(compiler) -> None:
    # module.double() after compiling: the f32 library would read the f64
    # weights as the wrong values (and an f32 one given to a bf16 library
    # past their end); the library refuses them instead.
    module = _Block().eval()
    x = torch.randn(3, 4, 8)
    compiled = attn_opt.compile(module, (x,))
    compiled(x)
    module.double()
    with pytest.raises(attn_opt.AttnOptError, match=r"has dtype torch.float64, the library was compiled for "
                                                    r"torch.float32"):
        compiled(x)


def test_library_rejects_another_shape(compiler) -> None:
    # The kernels are specialised to the compiled sizes; the library itself
    # refuses a tensor of another shape instead of reading out of bounds.
    compiled = attn_opt.compile(TwoOutputs(), (torch.randn(3, 5),))
    library = compiled._default.library
    with pytest.raises(attn_opt.AttnOptError, match=r"argument 0 has shape \[3, 6\]"):
        library([torch.randn(3, 6)])


def test_small_graphs_are_built_without_openmp(compiler, monkeypatch) -> None:
    # Below SINGLE_THREAD_FLOPS a library is sequential code: entering an
    # OpenMP region costs microseconds even on one thread. Larger graphs
    # keep their parallel regions.
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    small = attn_opt.compile(TwoOutputs(), (torch.randn(3, 5),))
    assert b"__kmpc_fork_call" not in small.library_path.read_bytes()

    class Big(nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return (a @ b).softmax(-1)

    a, b = torch.randn(512, 512), torch.randn(512, 512)  # 268 MFLOP
    big = attn_opt.compile(Big(), (a, b))
    assert b"__kmpc_fork_call" in big.library_path.read_bytes()
    torch.testing.assert_close(big(a, b), (a @ b).softmax(-1), rtol=2e-4, atol=1e-6)


def test_library_rejects_another_argument_count(compiler) -> None:
    # Fewer tensors than descriptors would leave the last descriptors
    # pointing at an earlier call's (freed) buffers.
    compiled = attn_opt.compile(TwoOutputs(), (torch.randn(3, 5),))
    library = compiled._default.library
    with pytest.raises(attn_opt.AttnOptError, match=r"takes 1 arguments, got 0"):
        library([])


def test_output_structure_survives_the_single_result_shortcut(compiler) -> None:
    # A lone tensor comes back as a tensor, a 1-tuple as a 1-tuple, a dict
    # as a dict: the shortcut that skips rebuilding the pytree applies only
    # to the first.
    class Lone(nn.Module):
        def forward(self, x):
            return x * 2.0

    class OneTuple(nn.Module):
        def forward(self, x):
            return (x * 2.0,)

    class OneDict(nn.Module):
        def forward(self, x):
            return {"y": x * 2.0}

    x = torch.randn(3, 5)
    lone = attn_opt.compile(Lone(), (x,))(x)
    assert isinstance(lone, torch.Tensor)
    torch.testing.assert_close(lone, x * 2.0)
    one = attn_opt.compile(OneTuple(), (x,))(x)
    assert isinstance(one, tuple) and len(one) == 1
    torch.testing.assert_close(one[0], x * 2.0)
    named = attn_opt.compile(OneDict(), (x,))(x)
    assert list(named) == ["y"]
    torch.testing.assert_close(named["y"], x * 2.0)
    as_numpy = attn_opt.compile(Lone(), (x,))(x.numpy())
    assert isinstance(as_numpy, np.ndarray)
    np.testing.assert_allclose(as_numpy, x.numpy() * 2.0)
