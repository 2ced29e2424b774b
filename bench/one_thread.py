"""One-thread timing for the bench scripts: import this first (it pins
OpenMP to one thread before torch or a compiled library loads it)."""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"

import time  # noqa: E402

import torch  # noqa: E402

torch.set_num_threads(1)


def cpu_seconds(fn, runs: int) -> float:
    """The fastest of ``runs`` calls of ``fn`` (after one warm-up), in this
    thread's CPU time: what the code costs, not what the machine's other
    processes leave of the wall clock."""
    fn()
    best = float("inf")
    for _ in range(runs):
        start = time.thread_time()
        fn()
        best = min(best, time.thread_time() - start)
    return best
