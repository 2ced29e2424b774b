"""Same-run A/B of the Linear weight layout attn_opt.compile prepares:
column panels ([out/64, in, 64], the default on the CPU) against the plain
transposed weight ([in, out]), on one torchvision model, interleaved.

    ATTN_OPT_BUILD_DIR=build .venv/bin/python bench/layout_ab.py vit_b_16 --dtype bf16 --rounds 8
"""

from __future__ import annotations

import argparse
import time

import torch

import attn_opt
from attn_opt.ops import linalg
from works import torchvision_features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="torchvision model name (vit_b_16, swin_t, ...)")
    parser.add_argument("--dtype", choices=("f32", "bf16"), default="f32")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved timed calls of each")
    args = parser.parse_args()
    model, x = torchvision_features(args.model, torch.bfloat16 if args.dtype == "bf16" else torch.float32)
    variants = {}
    for label, panel in (("panels", linalg.PANEL), ("in-out", 1 << 62)):
        saved, linalg.PANEL = linalg.PANEL, panel
        try:
            variants[label] = attn_opt.compile(model, (x,))
        finally:
            linalg.PANEL = saved
    with torch.no_grad():
        ref = model(x).float()
        for label, compiled in variants.items():
            print(f"{label}: max |compiled - eager| {(compiled(x).float() - ref).abs().max().item():.3g}")
        best = {label: float("inf") for label in (*variants, "eager")}
        for _ in range(args.rounds):
            for label, fn in (*variants.items(), ("eager", model)):
                t0 = time.perf_counter()
                fn(x)
                best[label] = min(best[label], time.perf_counter() - t0)
    print("fastest of", args.rounds, {k: f"{v * 1e3:.1f} ms" for k, v in best.items()})


if __name__ == "__main__":
    main()
