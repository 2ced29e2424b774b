"""Same-process A/B of attn-opt builds on one model of the zoo's corpus: the
model is compiled once per build dir (each library links its own build's
micro-kernel archive), then eager and every compiled module are timed in
rounds of the zoo's _BURST calls each, as the zoo times them (a call right after
another runtime's call shares the cores with that runtime's spinning
workers).

    OMP_NUM_THREADS=2 .venv/bin/python bench/zoo_ab.py vit-pytorch '^CvT$' OLD/build,build --rounds 10

Prints each build's relative error against eager, then the median and the
fastest call of each build and of eager."""

from __future__ import annotations

import argparse
import os
import re
import time

import torch

import attn_opt
from attn_opt.zoo import corpus
from attn_opt.zoo.runner import _BURST


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", help="zoo family (d2l, hf, timm, vit-pytorch, x-transformers)")
    parser.add_argument("model", help="regular expression for the model's name in that family")
    parser.add_argument("builds", help="comma-separated attn-opt build dirs (ATTN_OPT_BUILD_DIR of each)")
    parser.add_argument("--rounds", type=int, default=10, help=f"rounds of {_BURST} calls of each")
    parser.add_argument("--small", action="store_true", help="the small (CI) configuration")
    args = parser.parse_args()
    entries = [e for e in corpus.entries([args.family]) if re.search(args.model, e.name)]
    if not entries:
        parser.error(f"no model of family {args.family!r} matches {args.model!r}")
    model, inputs = entries[0].build(args.small)
    x = inputs(1)
    fns = []
    for build in args.builds.split(","):
        os.environ["ATTN_OPT_BUILD_DIR"] = build
        fns.append((build, attn_opt.compile(model, x)))
    fns.append(("eager", model))
    threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    if threads:
        torch.set_num_threads(threads)
    times: dict = {name: [] for name, _ in fns}
    with torch.no_grad():
        ref = entries[0].select(model(*x))
        for name, fn in fns:
            out = entries[0].select(fn(*x))
            if name != "eager":
                err = ((out - ref).abs().max() / ref.abs().max()).item()
                print(f"{name}: relative error {err:.2e} against eager")
        for _ in range(args.rounds):
            for name, fn in fns:
                for _ in range(_BURST):
                    start = time.perf_counter()
                    fn(*x)
                    times[name].append(time.perf_counter() - start)
    for name, ts in times.items():
        ts.sort()
        print(f"{name}: median {ts[len(ts) // 2] * 1e3:.3f} ms, fastest {ts[0] * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
