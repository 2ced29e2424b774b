"""Runs @cat_linear of elementwise-into-linear.mlir and compares it with numpy
(the f64 reference evaluator does not read tensors captured by a linalg body).

Usage: cat_linear_vs_numpy.py ATTN_RUN MLIR WORKDIR
Prints 'OK cat_linear' or 'FAIL ...' (exit 1).
"""

import os
import subprocess
import sys

import numpy as np

ATTN_RUN, MLIR, WORK = sys.argv[1:4]
os.makedirs(WORK, exist_ok=True)
rng = np.random.default_rng(0)
cls, x, w = (rng.uniform(-1, 1, size=s).astype(np.float32)
             for s in ((1, 1, 96), (1, 36, 96), (96, 64)))
paths = []
for i, a in enumerate((cls, x, w)):
    paths.append(os.path.join(WORK, f"in{i}.npy"))
    np.save(paths[-1], a)
prefix = os.path.join(WORK, "out")
subprocess.run([ATTN_RUN, MLIR, "--entry=cat_linear", "--input=" + ",".join(paths),
                f"--output={prefix}"], check=True, stdout=subprocess.DEVNULL)
got = np.load(prefix + ".0.npy")
want = np.concatenate((cls, x), axis=1).astype(np.float64) @ w.astype(np.float64)
# f32 sums of 96 products of values in [-1, 1): a few 1e-6 of the largest.
err = np.max(np.abs(got - want)) / np.max(np.abs(want))
if got.shape != want.shape or not err < 1e-5:
    print(f"FAIL cat_linear: shape {got.shape} vs {want.shape}, relative error {err}")
    sys.exit(1)
print("OK cat_linear")
