"""exp as the CPU pipeline compiles it, against numpy's exp in f64, over the
whole f32 range and at the special values softmax meets (-inf from masks,
NaN from NaN data, 0 for a row's maximum).

Usage: exp_accuracy.py ATTN_RUN MLIR WORKDIR PIPELINE_OPTIONS MAX_ULP SUBNORMALS
SUBNORMALS: "exact" (within one subnormal step) or "flush" (results below
the smallest normal float may be 0, as upstream's expansion makes them).
Prints 'OK <options>' or the first problems; exits 1 on a mismatch.
"""

import os
import subprocess
import sys

import numpy as np

ATTN_RUN, MLIR, WORK, OPTIONS, MAX_ULP, SUBNORMALS = sys.argv[1:7]
os.makedirs(WORK, exist_ok=True)
rows, cols = 512, 1024
specials = np.array([-np.inf, np.inf, np.nan, 0.0, -0.0, -1e30, 1e30, -104.0,
                     -103.97, -87.5, -87.33654, -87.3365, 88.72, 88.73, 89.0,
                     -1e-8, 1e-8],
                    dtype=np.float32)
sweep = np.linspace(-110.0, 90.0, rows * cols - specials.size,
                    dtype=np.float32)
x = np.concatenate([specials, sweep]).reshape(rows, cols)
np.save(os.path.join(WORK, "x.npy"), x)
out = os.path.join(WORK, "exp")
subprocess.run([ATTN_RUN, MLIR, "--input=" + os.path.join(WORK, "x.npy"),
                "--output=" + out, "--cpu-pipeline=" + OPTIONS], check=True,
               capture_output=True)
got = np.load(out + ".0.npy").astype(np.float64).ravel()
x = x.astype(np.float64).ravel()
with np.errstate(over="ignore"):
    want = np.exp(x)
problems = []
# Normal results within MAX_ULP units in the last place of the f32 result
# (but those within 0.1% of the smallest normal float, which a flushing exp
# may give as 0: ln(FLT_MIN) is no float).
smallest = float(np.finfo(np.float32).tiny)
normal = (want >= smallest * 1.001) & (want <= np.finfo(np.float32).max)
ulp = np.spacing(want[normal].astype(np.float32)).astype(np.float64)
worst = (np.abs(got[normal] - want[normal]) / ulp).max()
if worst > float(MAX_ULP):
    problems.append(f"{worst:.2f} ulp > {MAX_ULP}")
# Subnormal results within one subnormal step; underflow is exactly 0 (a
# masked key's weight: 0 times an infinite value must not be NaN).
tiny = ~normal & (want < 1)
step = 2.0 ** -149 if SUBNORMALS == "exact" else smallest * 1.001
if np.abs(got[tiny] - want[tiny]).max() > step:
    problems.append(f"subnormal results off by more than {step:g}")
if np.any(got[want < 2.0 ** -150] != 0):
    problems.append("exp of x <= -104 is not 0")
# Overflow is +inf; NaN stays NaN; exp(0) is exactly 1.
if not np.all(np.isposinf(got[~np.isnan(x) & (want > np.finfo(np.float32).max)])):
    problems.append("overflow is not +inf")
if not np.array_equal(np.isnan(got), np.isnan(x)):
    problems.append("NaN results differ from NaN inputs")
if not np.all(got[x == 0] == 1):
    problems.append("exp(0) is not 1")
if problems:
    print(f"FAIL {OPTIONS}: " + "; ".join(problems))
    sys.exit(1)
print(f"OK {OPTIONS} (max {worst:.2f} ulp)")
