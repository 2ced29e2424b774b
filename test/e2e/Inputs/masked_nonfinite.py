"""Masked keys are ignored whatever they hold; NaN data propagates as IEEE
arithmetic says. Checks attn-run's compiled code and its f64 reference on
the fused attn.attention and on the unfused graph against PyTorch (float64,
masked_fill + softmax + matmul).

Usage: masked_nonfinite.py ATTN_RUN MLIR WORKDIR
Prints one 'OK <case>' line per case; exits 1 on any mismatch.
"""

import os
import subprocess
import sys

import numpy as np
import torch

ATTN_RUN, MLIR, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(WORK, exist_ok=True)
failed = False


def run(name, entry, inputs):
    """Compiled result, reference result and the --check verdict."""
    paths = []
    for i, a in enumerate(inputs):
        path = os.path.join(WORK, f"{name}.in{i}.npy")
        np.save(path, a)
        paths.append(path)
    out = os.path.join(WORK, f"{name}.out")
    ref = os.path.join(WORK, f"{name}.ref")
    proc = subprocess.run([ATTN_RUN, MLIR, f"--entry={entry}",
                           "--input=" + ",".join(paths), "--check",
                           f"--output={out}", f"--output-reference={ref}"],
                          capture_output=True, text=True)
    return (np.load(out + ".0.npy").astype(np.float64),
            np.load(ref + ".0.npy"), proc.returncode == 0, proc.stdout)


def same(a, b, tol):
    """Equal up to tol, NaN where the other is NaN."""
    return a.shape == b.shape and np.array_equal(np.isnan(a), np.isnan(b)) \
        and np.allclose(a[~np.isnan(a)], b[~np.isnan(b)], atol=tol, rtol=0)


def expect(name, entry, inputs, want, tol=1e-5):
    global failed
    got, ref, ok, log = run(name, entry, inputs)
    want = want.numpy() if torch.is_tensor(want) else want
    problems = []
    if not same(ref, want, 1e-12):
        problems.append("reference differs from torch")
    if not same(got, want, tol):
        problems.append("compiled code differs from torch")
    if not ok:
        problems.append("--check failed: " + log.strip())
    if problems:
        failed = True
        print(f"FAIL {name}: " + "; ".join(problems))
        print("  torch", want.ravel()[:12], "\n  compiled", got.ravel()[:12],
              "\n  reference", ref.ravel()[:12])
    else:
        print(f"OK {name}")


def torch_attention(q, k, v, keep, scale):
    s = torch.einsum("bid,bjd->bij", *(torch.from_numpy(x).double()
                                       for x in (q, k))) * scale
    keep = torch.from_numpy(keep)
    s = s.masked_fill(~keep, float("-inf"))
    p = torch.softmax(s, dim=-1)
    p[~keep.any(dim=-1)] = 0.0  # rows with every key masked give 0
    return torch.einsum("bij,bjd->bid", p, torch.from_numpy(v).double())


rng = np.random.default_rng(0)
B, SQ, SK, D = 2, 5, 70, 8  # 70 keys: a full block and a partial one
q = rng.standard_normal((B, SQ, D)).astype(np.float32)
k = rng.standard_normal((B, SK, D)).astype(np.float32)
v = rng.standard_normal((B, SK, D)).astype(np.float32)
keep = rng.random((B, SQ, SK)) < 0.6
keep[:, :, 3] = False
keep[1, 2, :] = False  # a row with every key masked
scale = 0.35

# NaN and infinities in the keys of masked positions (padding garbage).
kbad = k.copy()
kbad[:, 3, :] = np.nan
kbad[0, 40, 1] = np.inf
kbad[1, 65, 0] = -np.inf
keep[0, :, 40] = False
keep[1, :, 65] = False
want = torch_attention(q, kbad, v, keep, scale)
assert np.isfinite(want.numpy()).all()
for entry in ("fused", "unfused"):
    expect(f"{entry}-nonfinite-masked-keys", entry, [q, kbad, v, keep], want)

# A NaN value of a masked key: p = 0 and 0 * NaN = NaN, in torch as in the
# unfused graph, and so in the fused op.
vbad = v.copy()
vbad[0, 3, 2] = np.nan
want = torch_attention(q, k, vbad, keep, scale)
assert np.isnan(want.numpy()[0]).any()
for entry in ("fused", "unfused"):
    expect(f"{entry}-nan-value-masked-key", entry, [q, k, vbad, keep], want)

# A row with every key masked is 0 for finite values, and NaN where a
# value is NaN (the sum of 0 * v), as the unfused graph gives.
vbad = v.copy()
vbad[1, 10, 0] = np.nan
want = torch_attention(q, k, vbad, keep, scale)
assert np.isnan(want.numpy()[1, 2, 0]) and not np.isnan(want.numpy()[0]).any()
for entry in ("fused", "unfused"):
    expect(f"{entry}-masked-row-nan-value", entry, [q, k, vbad, keep], want)

# NaN scores of kept keys make their rows NaN (softmax of a NaN row).
qbad = q.copy()
qbad[1, 4, :] = np.nan
want = torch_attention(qbad, k, v, keep, scale)
for entry in ("fused", "unfused"):
    expect(f"{entry}-nan-query", entry, [qbad, k, v, keep], want)

# One kept key with NaN scores in the second key block: the row max ignores
# NaN (maxnumf), and the row still becomes NaN through exp(NaN - m) in its
# sum and in P V; rows that mask the key stay finite.
kbad = k.copy()
kbad[0, 66, :] = np.nan
keep2 = keep.copy()
keep2[0, :3, 66] = True
keep2[0, 3:, 66] = False
want = torch_attention(q, kbad, v, keep2, scale)
assert np.isnan(want.numpy()[0, :3]).all() and np.isfinite(want.numpy()[0, 3:]).all()
for entry in ("fused", "unfused"):
    expect(f"{entry}-nan-kept-key", entry, [q, kbad, v, keep2], want)

sys.exit(1 if failed else 0)
