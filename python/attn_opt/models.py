"""Model runner: compile a torchvision model with random weights, run it,
check it against eager PyTorch and time both.

    .venv/bin/python -m attn_opt.models vit_b_16
    .venv/bin/python -m attn_opt.models swin_t --runs 5

Nothing is downloaded (``weights=None``). torchvision initialises some
layers to zero (ViT's classification head), which would make every logit 0
and the comparison vacuous, so every parameter is redrawn from a seeded
normal distribution scaled by its fan-in before compiling.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from .runtime import compile as compile_module

__all__ = ["ModelResult", "run_model", "randomize", "median_seconds", "at_best_thread_count", "MODELS"]

# The models the runner knows, with their input resolution.
MODELS = {"vit_b_16": 224, "vit_b_32": 224, "vit_l_16": 224, "swin_t": 224, "swin_s": 224}


def randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Redraws every parameter from N(0, 1/fan_in) (LayerNorm weights ~ 1)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            fan_in = p[0].numel() if p.dim() > 1 else p.numel()
            values = torch.randn(p.shape, generator=generator) / math.sqrt(max(fan_in, 1))
            if p.dim() == 1 and ("norm" in name or name.endswith("ln.weight") or ".ln_" in name):
                values = 1.0 + 0.1 * values
            p.copy_(values)
    return module


def median_seconds(fn: Callable[[], object], runs: int, warmup: int = 0) -> float:
    """Median wall time of ``runs`` calls of ``fn``, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times: List[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def at_best_thread_count(fn: Callable[[], object], runs: int, threads: int,
                         every: Optional[Dict[int, float]] = None) -> Tuple[float, int]:
    """PyTorch at its best: ``median_seconds(fn, runs, warmup=1)`` with 1 and
    with ``threads`` intra-op threads; returns the faster and its thread
    count (``every``, if given, gets each count's time), and restores the
    thread count it found. (On small machines PyTorch 1.13 with OpenBLAS is
    often faster with one intra-op thread: OpenBLAS runs its own threads
    under it; vit_b_16 measured ~0.27 s with 1 and ~0.85 s with 2.)"""
    saved = torch.get_num_threads()
    best: Optional[Tuple[float, int]] = None
    try:
        for n in sorted({1, threads}):
            torch.set_num_threads(n)
            t = median_seconds(fn, runs, warmup=1)
            if every is not None:
                every[n] = t
            if best is None or t < best[0]:
                best = (t, n)
    finally:
        torch.set_num_threads(saved)
    assert best is not None
    return best


@dataclass
class ModelResult:
    name: str
    batch: int
    compile_s: float
    eager_by_threads: Dict[int, float]  # seconds with each intra-op thread count
    compiled_s: float
    max_abs_error: float
    max_abs_logit: float
    argmax_equal: bool
    ir_bytes: int = 0
    attentions_fused: int = 0
    to_mlir_s: float = 0.0

    @property
    def eager_threads(self) -> int:
        """The thread count eager PyTorch was fastest with."""
        return min(self.eager_by_threads, key=self.eager_by_threads.__getitem__)

    @property
    def eager_s(self) -> float:
        return self.eager_by_threads[self.eager_threads]

    @property
    def speedup(self) -> float:
        return self.eager_s / self.compiled_s


def build(name: str) -> nn.Module:
    import torchvision  # noqa: F401  (imported lazily: only the runner needs it)
    from torchvision import models

    if not hasattr(models, name):
        raise ValueError(f"unknown torchvision model {name!r}")
    return getattr(models, name)(weights=None)


def run_model(name: str, batch: int = 1, runs: int = 5, seed: int = 0,
              log: Optional[Callable[[str], None]] = None) -> ModelResult:
    """Compiles ``name`` for [batch, 3, R, R] inputs and compares it with eager
    PyTorch on a different input than the one it was compiled with."""
    say = log or (lambda _msg: None)
    resolution = MODELS.get(name, 224)
    model = randomize(build(name), seed).eval()
    generator = torch.Generator().manual_seed(seed + 1)
    example = torch.randn(batch, 3, resolution, resolution, generator=generator)
    x = torch.randn(batch, 3, resolution, resolution, generator=generator)
    from .capture import to_mlir
    from .explain import explain
    say(f"{name}: capturing and compiling (first time: about a minute; cached after)")
    start = time.perf_counter()
    ir_bytes = len(to_mlir(model, (example,)).encode())
    to_mlir_s = time.perf_counter() - start
    fused = explain(model, (example,)).fused
    start = time.perf_counter()
    compiled = compile_module(model, (example,))
    compiled(x)
    compile_s = time.perf_counter() - start
    with torch.no_grad():
        got = compiled(x)
        ref = model(x)
        error = (got - ref).abs().max().item()
        logit = ref.abs().max().item()
        argmax = bool((got.argmax(-1) == ref.argmax(-1)).all())
        eager: Dict[int, float] = {}
        at_best_thread_count(lambda: model(x), runs, torch.get_num_threads(), eager)
        compiled_s = median_seconds(lambda: compiled(x), runs)
    return ModelResult(name, batch, compile_s, eager, compiled_s, error, logit, argmax, ir_bytes, fused, to_mlir_s)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help=f"torchvision model name ({', '.join(MODELS)})")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5, help="timed runs (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--atol", type=float, default=5e-3, help="max |compiled - eager| allowed")
    parser.add_argument("--threads", type=int, default=0,
                        help="PyTorch intra-op threads (default: the machine's core count)")
    args = parser.parse_args(argv)
    import os
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    result = run_model(args.model, args.batch, args.runs, args.seed, log=lambda m: print(m, flush=True))
    ok = result.argmax_equal and result.max_abs_error <= args.atol
    print(f"{result.name} batch {result.batch}: max abs error {result.max_abs_error:.2e} "
          f"(max |logit| {result.max_abs_logit:.2f}), argmax {'equal' if result.argmax_equal else 'DIFFERENT'}: "
          f"{'OK' if ok else 'FAIL'}")
    print(f"IR {result.ir_bytes / 1e6:.2f} MB (to_mlir {result.to_mlir_s:.1f} s), "
          f"{result.attentions_fused} attentions fused")
    print(f"compile + first call {result.compile_s:.1f} s")
    print(f"eager PyTorch {result.eager_s * 1e3:.1f} ms ({result.eager_threads} intra-op threads, the faster "
          f"of 1 and {torch.get_num_threads()}), attn-opt {result.compiled_s * 1e3:.1f} ms "
          f"({result.speedup:.2f}x)")
    if len(result.eager_by_threads) > 1:
        print("eager by intra-op threads: " + ", ".join(
            f"{n}: {t * 1e3:.1f} ms ({t / result.compiled_s:.2f}x)" for n, t in sorted(result.eager_by_threads.items())))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
