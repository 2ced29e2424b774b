#!/usr/bin/python3
"""Side-by-side CPU benchmark of attn-run against PyTorch and the sgemm ceiling.

Everything is measured in one process run on one machine, because the
machines we use are shared and noisy: only ratios within a run mean much.
Uses Debian's /usr/bin/python3 (torch + numpy); attn-run comes from a build
directory ($ATTN_OPT_BUILD_DIR, default build/).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
from attn_opt.models import at_best_thread_count, median_seconds, run_model  # noqa: E402


@dataclass
class Row:
    name: str
    impl: str
    ms: float
    gflop: float
    rss_mb: Optional[float] = None
    peer_ms: Optional[float] = None

    @property
    def gflops(self) -> float:
        return self.gflop / (self.ms / 1e3) if self.ms > 0 else float("nan")


def best_torch_ms(fn: Callable[[], object], runs: int, threads: int) -> tuple[float, int]:
    """The peer at its best (attn_opt.models.at_best_thread_count): median
    ms with 1 or `threads` intra-op threads, whichever is faster, and that
    thread count."""
    seconds, n = at_best_thread_count(fn, runs, threads)
    return seconds * 1e3, n


def median_ms(fn: Callable[[], object], runs: int) -> float:
    return median_seconds(fn, runs, warmup=1) * 1e3


def sgemm_gflops(runs: int) -> float:
    """Best of torch.mm and numpy matmul on 2048x2048 f32: the FLOP ceiling."""
    n = 2048
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    best = 2 * n**3 / 1e9 / (median_ms(lambda: torch.mm(a, b), runs) / 1e3)
    an, bn = a.numpy(), b.numpy()
    best_np = 2 * n**3 / 1e9 / (median_ms(lambda: an @ bn, runs) / 1e3)
    return max(best, best_np)


def run_attn(attn_run: Path, mlir: Path, entry: str, runs: int,
             threads: int) -> tuple[float, float]:
    """Runs attn-run --bench; returns (median ms, peak RSS MiB) of the child."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = [str(attn_run), str(mlir), f"--entry={entry}", f"--bench={runs}"]
    # A child forked from this (large, torch-holding) process starts with
    # its parent's RSS as its high-water mark, so rusage would overstate
    # attn-run's peak; /usr/bin/time forks it from a small process instead.
    time_tool = Path("/usr/bin/time")
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        if time_tool.exists():
            cmd = [str(time_tool), "-f", "%M", "-o", rss_file.name] + cmd
        proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=env, text=True)
        out = proc.stdout
        fields = rss_file.read().split() if time_tool.exists() else []
        rss_mb = float(fields[-1]) / 1024.0 if fields else float("nan")
    match = re.search(r"run time: median ([0-9.]+) ms", out)
    if proc.returncode != 0 or not match:
        raise RuntimeError(f"attn-run failed on {mlir} ({entry}):\n{out}")
    return float(match.group(1)), rss_mb


def g1_torch_eager(x, w_qkv, w_out, b_out, h: int) -> torch.Tensor:
    b, n, c = x.shape
    d = c // h
    qkv = x @ w_qkv.t()
    q, k, v = (t.reshape(b, n, h, d).permute(0, 2, 1, 3)
               for t in qkv.chunk(3, dim=-1))
    attn = torch.einsum("bhid,bhjd->bhij", q, k) * d**-0.5
    attn = attn.softmax(dim=-1)
    out = torch.einsum("bhij,bhjd->bhid", attn, v)
    out = out.permute(0, 2, 1, 3).reshape(b, n, c)
    return torch.nn.functional.linear(out, w_out, b_out)


def attention_mlir(h: int, n: int, d: int, causal: bool) -> str:
    ty = f"tensor<1x{h}x{n}x{d}xf32>"
    flag = " causal" if causal else ""
    return (f"func.func @attention(%q: {ty}, %k: {ty}, %v: {ty}) -> {ty} {{\n"
            f"  %init = tensor.empty() : {ty}\n"
            f"  %o = attn.attention ins(%q, %k, %v : {ty}, {ty}, {ty})\n"
            f"      outs(%init : {ty}) scale({d ** -0.5}){flag} -> {ty}\n"
            f"  return %o : {ty}\n}}\n")


def torch_attention(q, k, v, causal: bool) -> torch.Tensor:
    s = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    if causal:
        n = q.shape[-2]
        mask = torch.ones(n, n, dtype=torch.bool).triu(1)
        s = s.masked_fill(mask, float("-inf"))
    return s.softmax(dim=-1) @ v


def find_attn_run(explicit: Optional[str]) -> Path:
    build = Path(os.environ.get("ATTN_OPT_BUILD_DIR", ROOT / "build"))
    candidates = [Path(explicit)] if explicit else [build / "bin/attn-run"]
    for path in candidates:
        if path.exists():
            return path
    raise SystemExit(f"attn-run not found (tried {candidates}); build it or "
                     "pass --attn-run")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attn-run", help="attn-run binary")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5,
                        help="timed runs per measurement (median)")
    parser.add_argument("--long", action="store_true",
                        help="also n = 8192 and 16384")
    parser.add_argument("--max-n", type=int, default=0,
                        help="skip attention lengths above this (0: none)")
    parser.add_argument("--min-n", type=int, default=0,
                        help="skip attention lengths below this (with --long "
                        "--min-n 8192 --max-n 8192: only the n = 8192 rows)")
    parser.add_argument("--only", default="",
                        help="comma list among sgemm,g1,attention,models")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    attn_run = find_attn_run(args.attn_run)
    only = set(filter(None, args.only.split(",")))
    want = lambda what: not only or what in only  # noqa: E731

    print(f"# attn-run: {attn_run}; torch {torch.__version__}; "
          f"threads {args.threads}; median of {args.runs}")
    # The ceiling is always measured: every row is reported against it.
    ceiling = sgemm_gflops(args.runs)
    print(f"# sgemm ceiling (2048^2, best of torch.mm / numpy): "
          f"{ceiling:.1f} GFLOP/s", flush=True)
    rows: list[Row] = []

    with tempfile.TemporaryDirectory(prefix="attn-bench-") as tmp, \
            torch.no_grad():
        if want("g1"):
            b, n, c, h = 7, 257, 512, 8
            d = c // h
            # One multiply-add = 2 FLOPs: projections + both attention GEMMs.
            gflop = (2 * b * n * c * 3 * c + 4 * b * h * n * n * d +
                     2 * b * n * c * c) / 1e9
            ms, rss = run_attn(attn_run, ROOT / "examples/vit_attention.mlir",
                               "vit_attention", args.runs, args.threads)
            x = torch.randn(b, n, c)
            w_qkv, w_out = torch.randn(3 * c, c), torch.randn(c, c)
            b_out = torch.randn(c)
            eager, eager_threads = best_torch_ms(
                lambda: g1_torch_eager(x, w_qkv, w_out, b_out, h), args.runs,
                args.threads)
            mha = torch.nn.MultiheadAttention(c, h, bias=True,
                                              batch_first=True).eval()
            fast, fast_threads = best_torch_ms(
                lambda: mha(x, x, x, need_weights=False), args.runs,
                args.threads)
            name = f"G1 b{b} n{n} c{c} h{h}"
            rows.append(Row(name, "attn-run", ms, gflop, rss, peer_ms=fast))
            rows.append(Row(name, f"torch eager ({eager_threads}t)", eager,
                            gflop, peer_ms=fast))
            rows.append(Row(name, f"torch MHA fast path ({fast_threads}t)",
                            fast, gflop, peer_ms=fast))
            print(f"# {name}: attn-run {ms:.1f} ms, eager {eager:.1f} ms, "
                  f"MHA {fast:.1f} ms", flush=True)

        if want("attention"):
            lengths = [257, 1024, 4096] + ([8192, 16384] if args.long else [])
            lengths = [n for n in lengths if n >= args.min_n and
                       (not args.max_n or n <= args.max_n)]
            has_sdpa = hasattr(torch.nn.functional,
                               "scaled_dot_product_attention")
            for n in lengths:
                for d in (64, 128):
                    for causal in (False, True):
                        h = 8
                        gflop = 4 * h * n * n * d / 1e9 / (2 if causal else 1)
                        name = (f"attention h{h} n{n} d{d}"
                                f"{' causal' if causal else ''}")
                        path = Path(tmp) / f"attn_{n}_{d}_{int(causal)}.mlir"
                        path.write_text(attention_mlir(h, n, d, causal))
                        # Long sequences: fewer runs keep the default run
                        # within a few minutes.
                        runs = args.runs if n <= 1024 else max(1, args.runs // 3)
                        ms, rss = run_attn(attn_run, path, "attention", runs,
                                           args.threads)
                        q, k, v = (torch.randn(1, h, n, d) for _ in range(3))
                        eager, eager_threads = best_torch_ms(
                            lambda: torch_attention(q, k, v, causal), runs,
                            args.threads)
                        rows.append(Row(name, "attn-run", ms, gflop, rss,
                                        peer_ms=eager))
                        rows.append(Row(name, f"torch eager ({eager_threads}t)",
                                        eager, gflop, peer_ms=eager))
                        if has_sdpa:
                            sdpa = median_ms(
                                lambda: torch.nn.functional.
                                scaled_dot_product_attention(
                                    q, k, v, is_causal=causal), runs)
                            rows.append(Row(name, "torch SDPA", sdpa, gflop,
                                            peer_ms=eager))
                        print(f"# {name}: attn-run {ms:.1f} ms, eager "
                              f"{eager:.1f} ms", flush=True)

        if want("models"):
            # Whole torchvision models, random weights, batch 1: compiled by
            # attn_opt (cached on disk after the first run) and run in this
            # process, against eager PyTorch at its best thread count.
            for model, gflop in (("vit_b_16", 35.1), ("swin_t", 8.9)):
                print(f"# {model}: compiling (about a minute the first time)",
                      flush=True)
                torch.set_num_threads(args.threads)
                result = run_model(model, runs=args.runs)
                best_eager = result.eager_s * 1e3
                name = f"{model} b1 (max err {result.max_abs_error:.1e}, " \
                       f"argmax {'ok' if result.argmax_equal else 'DIFFERS'})"
                rows.append(Row(name, "attn-opt", result.compiled_s * 1e3,
                                gflop, peer_ms=best_eager))
                # Eager at each thread count; the peer is the faster one.
                for n, t in sorted(result.eager_by_threads.items()):
                    rows.append(Row(name, f"torch eager ({n}t)", t * 1e3,
                                    gflop, peer_ms=best_eager))
                print(f"# {model}: attn-opt {result.compiled_s * 1e3:.1f} ms, "
                      f"eager {best_eager:.1f} ms", flush=True)

    header = (f"{'work':<42} {'impl':<20} {'ms':>9} {'GFLOP/s':>8} "
              f"{'vs torch':>9} {'%sgemm':>7} {'RSS MiB':>8}")
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio = row.peer_ms / row.ms if row.peer_ms else float("nan")
        rss = f"{row.rss_mb:8.0f}" if row.rss_mb is not None else f"{'':>8}"
        print(f"{row.name:<42} {row.impl:<20} {row.ms:9.2f} "
              f"{row.gflops:8.1f} {ratio:8.2f}x "
              f"{100 * row.gflops / ceiling:6.1f}% {rss}")
    print("# vs torch = peer time / this time (>1: faster than the peer; the "
          "peer is the MHA fast path for G1, eager softmax(QK^T)V otherwise)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
