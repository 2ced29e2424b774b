"""Same-run A/B of vit-pytorch's DeepViT (re-attention) compiled by two
attn-opt builds (say main's, where re-attention is a near miss, and a branch
with its two-pass form), against eager PyTorch, timed interleaved; the
fastest of the rounds counts. One layer, README widths, tokens from
--image/--patch (256/8: 1025 tokens, where the [H, N, N] probabilities
dominate).

    .venv/bin/python bench/deepvit_ab.py --builds ../main/build,build --image 256 --patch 8 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from vit_pytorch.deepvit import DeepViT

import attn_opt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", required=True, help="comma-separated attn-opt build directories")
    parser.add_argument("--image", type=int, default=256)
    parser.add_argument("--patch", type=int, default=8)
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timed calls of each")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = DeepViT(image_size=args.image, patch_size=args.patch, num_classes=1000, dim=1024,
                    depth=args.depth, heads=16, mlp_dim=2048).eval()
    g = torch.Generator().manual_seed(0)
    example = torch.randn(1, 3, args.image, args.image, generator=g)
    x = torch.randn(1, 3, args.image, args.image, generator=g)
    fns = {"eager": lambda: model(x)}
    for build in args.builds.split(","):
        os.environ["ATTN_OPT_BUILD_DIR"] = build
        compiled = attn_opt.compile(model, (example,))
        fns[build] = lambda c=compiled: c(x)
    with torch.no_grad():
        want = model(x)
        for name, fn in fns.items():
            if name != "eager":
                error = float((fn() - want).abs().max() / want.abs().max())
                print(f"{name}: relative error {error:.2e}")
        best = {name: float("inf") for name in fns}
        for _ in range(args.rounds):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - start)
    tokens = (args.image // args.patch) ** 2 + 1
    for name, seconds in best.items():
        print(f"tokens {tokens}, {name}: {seconds * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
