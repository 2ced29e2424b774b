"""Checks attn-run's f64 reference evaluator against PyTorch (float64).

Usage: reference_vs_torch.py ATTN_RUN SRC_ROOT WORKDIR
Prints one 'OK <case>' line per case; exits 1 on any mismatch.
"""

import os
import subprocess
import sys

import numpy as np
import torch

ATTN_RUN, SRC_ROOT, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(WORK, exist_ok=True)
rng = np.random.default_rng(0)
failed = False


def run_reference(name, mlir, entry, inputs):
    paths = []
    for i, a in enumerate(inputs):
        path = os.path.join(WORK, f"{name}.in{i}.npy")
        np.save(path, a)
        paths.append(path)
    prefix = os.path.join(WORK, f"{name}.ref")
    subprocess.run([ATTN_RUN, mlir, f"--entry={entry}",
                    "--input=" + ",".join(paths),
                    f"--output-reference={prefix}"], check=True,
                   stderr=subprocess.DEVNULL)
    return np.load(prefix + ".0.npy")


def compare(name, got, want, tol=1e-10):
    global failed
    want = np.asarray(want, dtype=np.float64)
    err = np.max(np.abs(got - want)) if got.size else 0.0
    scale = max(np.max(np.abs(want)) if want.size else 0.0, 1e-300)
    if got.shape != want.shape or not err <= tol * scale + 1e-300:
        print(f"FAIL {name}: shape {got.shape} vs {want.shape}, err {err}")
        failed = True
    else:
        print(f"OK {name}")


def t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def randn(*shape, dtype=np.float32):
    return rng.uniform(-1, 1, size=shape).astype(dtype)


# G1 at its reference shape.
x, wqkv, wout, bout = (randn(7, 257, 512), randn(1536, 512) * 0.05,
                       randn(512, 512) * 0.05, randn(512))
qkv = t(x) @ t(wqkv).T
q, k, v = (z.reshape(7, 257, 8, 64).permute(0, 2, 1, 3)
           for z in qkv.chunk(3, dim=-1))
a = torch.softmax(q @ k.transpose(-1, -2) * 0.125, dim=-1)
y = (a @ v).permute(0, 2, 1, 3).reshape(7, 257, 512) @ t(wout).T + t(bout)
compare("G1", run_reference("g1", os.path.join(SRC_ROOT, "examples",
                                               "vit_attention.mlir"),
                            "vit_attention", [x, wqkv, wout, bout]), y)

# G2.
x, wqkv, wout, bout = (randn(2, 4, 50, 256), randn(768, 256) * 0.05,
                       randn(256, 256) * 0.05, randn(256))
qkv = t(x) @ t(wqkv).T
q, k, v = (z.reshape(2, 4, 50, 8, 32).permute(0, 1, 3, 2, 4)
           for z in qkv.chunk(3, dim=-1))
# The IR holds sqrt(32) as an f32 constant.
a = torch.softmax(q @ k.transpose(-1, -2) / float(np.float32(32 ** 0.5)),
                  dim=-1)
y = (a @ v).permute(0, 1, 3, 2, 4).reshape(2, 4, 50, 256) @ t(wout).T
y = y + t(bout)
compare("G2", run_reference("g2", os.path.join(SRC_ROOT, "examples",
                                               "vit_patch_attention.mlir"),
                            "vit_patch_attention", [x, wqkv, wout, bout]), y)

# attn.attention: every score kind, boolean/additive masks, causal.
ATT = os.path.join(WORK, "att.mlir")
with open(ATT, "w") as f:
    f.write("""
func.func @dot(%q: tensor<2x5x4xf32>, %k: tensor<2x6x4xf32>, %v: tensor<2x6x3xf32>, %m: tensor<2x5x6xi1>) -> tensor<2x5x3xf32> {
  %o_init = tensor.empty() : tensor<2x5x3xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x5x4xf32>, tensor<2x6x4xf32>, tensor<2x6x3xf32>) mask(%m : tensor<2x5x6xi1>)
      outs(%o_init : tensor<2x5x3xf32>) scale(0.5) causal -> tensor<2x5x3xf32>
  return %o : tensor<2x5x3xf32>
}
func.func @additive(%q: tensor<2x5x4xf32>, %k: tensor<2x6x4xf32>, %v: tensor<2x6x3xf32>, %m: tensor<2x1x6xf32>, %w: tensor<4xf32>) -> tensor<2x5x3xf32> {
  %o_init = tensor.empty() : tensor<2x5x3xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x5x4xf32>, tensor<2x6x4xf32>, tensor<2x6x3xf32>) mask(%m : tensor<2x1x6xf32>) weight(%w : tensor<4xf32>)
      outs(%o_init : tensor<2x5x3xf32>) scale(1.5) score(additive) -> tensor<2x5x3xf32>
  return %o : tensor<2x5x3xf32>
}
func.func @gaussian(%q: tensor<5x1xf32>, %k: tensor<6x1xf32>, %v: tensor<6x1xf32>) -> tensor<5x1xf32> {
  %o_init = tensor.empty() : tensor<5x1xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<5x1xf32>, tensor<6x1xf32>, tensor<6x1xf32>)
      outs(%o_init : tensor<5x1xf32>) scale(1.0) score(gaussian) -> tensor<5x1xf32>
  return %o : tensor<5x1xf32>
}
""")


def masked_softmax_rows(s):
    m = torch.amax(s, dim=-1, keepdim=True)
    e = torch.where(torch.isinf(m), torch.zeros_like(s), torch.exp(s - m))
    d = e.sum(-1, keepdim=True)
    return torch.where(d > 0, e / torch.where(d > 0, d, torch.ones_like(d)),
                       torch.zeros_like(e))


q, k, v = randn(2, 5, 4), randn(2, 6, 4), randn(2, 6, 3)
m = rng.uniform(size=(2, 5, 6)) < 0.6
m[0, 3, :] = False  # a fully masked row must give 0
s = t(q) @ t(k).transpose(-1, -2) * 0.5
s = s.masked_fill(~torch.from_numpy(m), float("-inf"))
s = s.masked_fill(torch.ones(5, 6, dtype=torch.bool).triu(1), float("-inf"))
compare("attention-dot-mask-causal",
        run_reference("dot", ATT, "dot", [q, k, v, m]),
        masked_softmax_rows(s) @ t(v))

madd, w = randn(2, 1, 6), randn(4)
s = (torch.tanh(t(q)[:, :, None, :] + t(k)[:, None, :, :]) * t(w)).sum(-1)
s = s * 1.5 + t(madd)
compare("attention-additive",
        run_reference("add", ATT, "additive", [q, k, v, madd, w]),
        torch.softmax(s, -1) @ t(v))

xq, xk, y = randn(5, 1), randn(6, 1), randn(6, 1)
s = -((t(xq) - t(xk).T) ** 2) / 2
compare("attention-gaussian",
        run_reference("gauss", ATT, "gaussian", [xq, xk, y]),
        torch.softmax(s, -1) @ t(y))

sys.exit(1 if failed else 0)
