"""One-thread Linear layers, attn-opt against eager PyTorch (MKL), in one
process: the in-model GEMM speed without threading noise.

    ATTN_OPT_BUILD_DIR=build .venv/bin/python bench/linear_one_thread.py [--tokens 512] [--runs 10]

Prints GFLOP/s of each side (fastest of --runs, thread CPU time) for the
Linear shapes of ViT-B/L blocks over --tokens rows."""

from __future__ import annotations

import argparse

from one_thread import cpu_seconds  # first: pins OpenMP and torch to one thread

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import attn_opt  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tokens", type=int, default=512)
    p.add_argument("--runs", type=int, default=10)
    args = p.parse_args()
    print(f"{'K':>6s} {'N':>6s} {'eager GFLOP/s':>14s} {'attn-opt GFLOP/s':>17s} {'attn-opt/eager':>15s}")
    for k, n in [(512, 1024), (768, 2304), (768, 3072), (1024, 1536), (1024, 4096), (2048, 1024)]:
        linear = nn.Linear(k, n).eval()
        x = torch.randn(1, args.tokens, k)
        compiled = attn_opt.compile(linear, (x,))
        with torch.no_grad():
            eager_s = cpu_seconds(lambda: linear(x), args.runs)
            ours_s = cpu_seconds(lambda: compiled(x), args.runs)
        flops = 2 * args.tokens * k * n
        print(f"{k:6d} {n:6d} {flops / eager_s / 1e9:14.0f} {flops / ours_s / 1e9:17.0f} {eager_s / ours_s:15.2f}")


if __name__ == "__main__":
    main()
