"""Single convolutions, eager against attn-opt, both on one thread, in CPU time.

    ATTN_OPT_BUILD_DIR=build PYTHONPATH=python .venv/bin/python bench/conv_one_thread.py [case ...]

Each case is one layer on one input (the shapes of the zoo's slow rows:
CrossFormer, MaxViT, MobileViT, NesT); prints eager ms, compiled ms and
eager / compiled, the fastest of 5 calls of thread CPU time after a
warm-up, and the compiled result's error relative to eager's largest
magnitude."""

from __future__ import annotations

import sys

from one_thread import cpu_seconds  # first: pins OpenMP and torch to one thread

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import attn_opt  # noqa: E402

CASES = {
    "3x3": (lambda: nn.Conv2d(64, 64, 3, padding=1), (1, 64, 56, 56)),
    "3x3-stride2": (lambda: nn.Conv2d(64, 128, 3, stride=2, padding=1), (1, 64, 56, 56)),
    "depthwise-3x3": (lambda: nn.Conv2d(256, 256, 3, padding=1, groups=256), (1, 256, 56, 56)),
    "depthwise-7x7": (lambda: nn.Conv2d(96, 96, 7, padding=3, groups=96), (1, 96, 56, 56)),
    "1x1-windows": (lambda: nn.Conv2d(64, 192, 1), (64, 64, 7, 7)),
    "32x32-stride4-rgb": (lambda: nn.Conv2d(3, 8, 32, stride=4, padding=14), (1, 3, 224, 224)),
    "7x7-stride4-rgb": (lambda: nn.Conv2d(3, 64, 7, stride=4, padding=2), (1, 3, 224, 224)),
}


def main() -> None:
    for name in sys.argv[1:] or list(CASES):
        make, shape = CASES[name]
        torch.manual_seed(0)
        layer = make().eval()
        x = torch.randn(*shape)
        compiled = attn_opt.compile(layer, (x,))
        with torch.no_grad():
            want = layer(x)
            error = ((compiled(x) - want).abs().max() / want.abs().max()).item()
            eager, ours = (1e3 * cpu_seconds(f, 5) for f in (lambda: layer(x), lambda: compiled(x)))
        print(f"{name}: eager {eager:.2f} ms cpu, compiled {ours:.2f} ms cpu, eager/compiled {eager / ours:.2f}, "
              f"rel error {error:.1e}", flush=True)


if __name__ == "__main__":
    main()
