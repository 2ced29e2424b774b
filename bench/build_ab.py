"""Same-process A/B of two (or more) attn-opt builds on one torchvision
model: the model is compiled once per build dir (each library links its own
build's micro-kernel archive, so a changed kernel needs no second process),
then the compiled modules are called in turn.

    OMP_NUM_THREADS=2 .venv/bin/python bench/build_ab.py vit_b_16 OLD/build build --dtype bf16 --rounds 15

Prints per build the median and fastest wall time and the fastest CPU time
of the calling thread: on a shared machine the wall clock includes time the
other processes took the cores, the thread's CPU time does not (with two
OpenMP threads it still counts this thread's spin-waits)."""

from __future__ import annotations

import argparse
import os
import time

import torch

import attn_opt
from works import torchvision_features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="torchvision model name (vit_b_16, swin_t, ...)")
    parser.add_argument("builds", nargs="+", help="attn-opt build dirs (ATTN_OPT_BUILD_DIR of each)")
    parser.add_argument("--dtype", choices=("f32", "bf16"), default="f32")
    parser.add_argument("--rounds", type=int, default=15, help="timed calls of each, interleaved")
    args = parser.parse_args()
    model, x = torchvision_features(args.model, torch.bfloat16 if args.dtype == "bf16" else torch.float32)
    compiled = []
    for build in args.builds:
        os.environ["ATTN_OPT_BUILD_DIR"] = build
        compiled.append(attn_opt.compile(model, (x,)))
    threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    if threads:
        torch.set_num_threads(threads)
    wall = [[] for _ in compiled]
    cpu = [[] for _ in compiled]
    with torch.no_grad():
        outputs = [c(x).float() for c in compiled]
        for _ in range(args.rounds):
            for i, c in enumerate(compiled):
                start, start_cpu = time.perf_counter(), time.thread_time()
                c(x)
                wall[i].append(time.perf_counter() - start)
                cpu[i].append(time.thread_time() - start_cpu)
    for build, w, t, out in zip(args.builds, wall, cpu, outputs):
        w.sort()
        print(f"{build}: median {1e3 * w[len(w) // 2]:.1f} ms, min {1e3 * w[0]:.1f} ms, "
              f"min thread CPU {1e3 * min(t):.1f} ms, max |out - first build's| "
              f"{(out - outputs[0]).abs().max().item():.2e}")


if __name__ == "__main__":
    main()
