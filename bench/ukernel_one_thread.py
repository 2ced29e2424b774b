"""The micro-kernels alone, on one thread, in CPU time: a Linear's product
as generated code calls it (one call per 64-column weight panel).

    .venv/bin/python bench/ukernel_one_thread.py [--lib build/lib/libattn_ukernels.so ...] [--runs 20]

For each library given (default: build/lib/libattn_ukernels.so; give two
for an A/B, measured alternately in one process), prints GFLOP/s of the
fastest of --runs sweeps (thread CPU time) for f32 panels [in, 64], bf16
panels (attn_uk_matmul_bf16, packed on every call), bf16 panels of row
pairs (attn_uk_matmul_bf16_pairs, AMX tiles loaded in place) and the same
overwriting C ("pairs=", attn_uk_matmul_bf16_pairs_overwrite, what a bf16
Linear calls; nan where the library has no such entry). --cold cycles
through 24 copies of the weight (a model's weights come from memory, not
from the cache the previous call left them in). Every operand is 64-byte
aligned, as generated code allocates them (numpy's 16-byte alignment makes
each AMX tile row straddle two cache lines: 840 -> 500 GFLOP/s on
197x768x2304 pairs)."""

from __future__ import annotations

import argparse
import ctypes
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
P64, PF32, PU16 = ctypes.c_int64, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_uint16)


def aligned(array: np.ndarray) -> np.ndarray:
    """A copy of `array` whose data starts on a 64-byte boundary."""
    raw = np.empty(array.nbytes + 64, dtype=np.uint8)
    start = -raw.ctypes.data % 64
    out = raw[start:start + array.nbytes].view(array.dtype).reshape(array.shape)
    out[...] = array
    return out


def load(path: str) -> ctypes.CDLL:
    lib = ctypes.CDLL(path)
    lib.attn_uk_matmul_f32.argtypes = [P64, P64, P64, PF32, P64, P64, PF32, P64, P64, PF32, P64, P64]
    for name in ("attn_uk_matmul_bf16", "attn_uk_matmul_bf16_pairs", "attn_uk_matmul_bf16_pairs_overwrite"):
        if hasattr(lib, name):
            getattr(lib, name).argtypes = [P64, P64, P64, PU16, P64, P64, PU16, P64, P64, PF32, P64, P64]
    return lib


def sweep(lib: ctypes.CDLL, kind: str, a: np.ndarray, weights: list, c: np.ndarray, runs: int) -> float:
    """Fastest CPU time of one product [m, k] x [k, n] as n / 64 panel calls."""
    m, k = a.shape
    n = c.shape[1]
    fn = {"f32": lib.attn_uk_matmul_f32, "bf16": getattr(lib, "attn_uk_matmul_bf16", None),
          "pairs": getattr(lib, "attn_uk_matmul_bf16_pairs", None),
          "pairs=": getattr(lib, "attn_uk_matmul_bf16_pairs_overwrite", None)}[kind]
    if fn is None:
        return float("nan")
    ptr = PF32 if kind == "f32" else PU16
    ap = a.ctypes.data_as(ptr)
    cp = c.ctypes.data
    best = float("inf")
    for r in range(runs + 1):
        w = weights[r % len(weights)]
        start = time.thread_time()
        for p in range(n // 64):
            panel = w[p]
            bp = panel.ctypes.data_as(ptr)
            out = ctypes.cast(cp + 4 * 64 * p, PF32)
            if kind.startswith("pairs"):  # [k / 2, 128]
                fn(m, 64, k, ap, k, 1, bp, 128, 1, out, n, 1)
            else:  # [k, 64]
                fn(m, 64, k, ap, k, 1, bp, 64, 1, out, n, 1)
        if r:
            best = min(best, time.thread_time() - start)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lib", action="append", help="libattn_ukernels.so (repeat for an A/B)")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--cold", action="store_true", help="24 copies of each weight, used in turn")
    p.add_argument("--shapes", default="197x768x2304,197x768x3072,197x3072x768,1024x768x3072")
    args = p.parse_args()
    libs = [(path, load(path)) for path in (args.lib or [str(ROOT / "build/lib/libattn_ukernels.so")])]
    rng = np.random.default_rng(0)
    print(f"{'m x k x n':>16s} {'kernel':>6s} " + " ".join(f"{Path(path).parent.parent.name[:18]:>18s}" for path, _ in libs)
          + "   GFLOP/s, one thread")
    for shape in args.shapes.split(","):
        m, k, n = (int(s) for s in shape.split("x"))
        copies = 24 if args.cold else 1
        a32 = rng.standard_normal((m, k), dtype=np.float32)
        a16 = aligned((a32.view(np.uint32) >> 16).astype(np.uint16))
        a32 = aligned(a32)
        w32 = [aligned(rng.standard_normal((n // 64, k, 64), dtype=np.float32)) for _ in range(copies)]
        w16 = [aligned((w.view(np.uint32) >> 16).astype(np.uint16)) for w in w32]
        pairs = [aligned(w.reshape(n // 64, k // 2, 2, 64).transpose(0, 1, 3, 2).reshape(n // 64, k // 2, 128))
                 for w in w16]
        c = aligned(np.zeros((m, n), dtype=np.float32))
        for kind, a, weights in (("f32", a32, w32), ("bf16", a16, w16), ("pairs", a16, pairs),
                                 ("pairs=", a16, pairs)):
            cells = []
            for _, lib in libs:
                seconds = sweep(lib, kind, a, weights, c, args.runs)
                cells.append(f"{2 * m * n * k / seconds / 1e9:18.0f}")
            print(f"{shape:>16s} {kind:>6s} " + " ".join(cells))


if __name__ == "__main__":
    main()
