"""One zoo model, eager against attn-opt, both on one thread, in CPU time.

    ATTN_OPT_BUILD_DIR=build .venv/bin/python bench/zoo_one_thread.py vit-pytorch MaxViT [runs]

On a shared machine the zoo's two-thread column mostly measures the other
processes; the fastest of `runs` calls of thread CPU time (time.thread_time)
with one PyTorch thread and one OpenMP thread is what each side's code
costs. Prints eager ms, compiled ms and eager / compiled."""

from __future__ import annotations

import sys

from one_thread import cpu_seconds  # first: pins OpenMP and torch to one thread

import torch  # noqa: E402

import attn_opt  # noqa: E402
from attn_opt.zoo.corpus import entries  # noqa: E402


def main() -> None:
    family, name = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    entry = next(e for e in entries([family]) if e.name == name)
    model, make_inputs = entry.build(False)
    example, test = make_inputs(0), make_inputs(1)
    compiled = attn_opt.compile(model, example)
    with torch.no_grad():
        eager, ours = (1e3 * cpu_seconds(f, runs) for f in (lambda: model(*test), lambda: compiled(*test)))
    print(f"{name}: eager {eager:.2f} ms cpu, compiled {ours:.2f} ms cpu, eager/compiled {eager / ours:.2f}")


if __name__ == "__main__":
    main()
