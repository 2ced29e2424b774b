"""The f64 reference frees intermediates, keeps splats as one element, and
samples rows when the whole evaluation does not fit.

Usage: reference_memory.py ATTN_RUN WORKDIR
Prints 'OK <case>' lines; exits 1 on a failure.
"""

import os
import resource
import subprocess
import sys

import numpy as np

ATTN_RUN, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
failed = False


def check(name, ok, detail=""):
    global failed
    print(("OK " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    failed |= not ok


def unfused(h, n, d, masked):
    """Unfused attention; with `masked`, the -inf of the select is a splat
    constant as large as the scores."""
    t = f"tensor<1x{h}x{n}x{d}xf32>"
    s = f"tensor<1x{h}x{n}x{n}xf32>"
    lines = [f"func.func @f(%q: {t}, %k: {t}, %v: {t}, %keep: "
             f"tensor<1x{h}x{n}x{n}xi1>) -> {t} {{",
             f'  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) '
             f"scale(0.125) : ({t}, {t}) -> {s}"]
    score = "%s"
    if masked:
        lines += [f"  %ninf = arith.constant dense<0xFF800000> : {s}",
                  f"  %m = arith.select %keep, %s, %ninf : "
                  f"tensor<1x{h}x{n}x{n}xi1>, {s}"]
        score = "%m"
    lines += [f"  %p = attn.softmax {score} axis(-1) : {s}",
              f'  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v) '
              f": ({s}, {t}) -> {t}",
              f"  return %o : {t}", "}"]
    path = os.path.join(WORK, f"unfused_{h}_{n}_{int(masked)}.mlir")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def reference(path, *args):
    """(returncode, stderr, peak RSS in MiB) of a reference-only run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([ATTN_RUN, path, *args], capture_output=True,
                          text=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return proc.returncode, proc.stderr, max(peak, before) / 1024


# Peak memory: at n = 2048 one score matrix in f64 is 32 MiB. Holding every
# intermediate (scores, the -inf constant written out, the select, the
# softmax) took four of them; freeing after the last use, computing the
# select and the softmax in place and keeping the splat as one element,
# about one. Measured against a run of a tiny graph, in a fresh process
# each (ru_maxrss of children is a running maximum, so the small run first).
rc, err, base = reference(unfused(1, 16, 8, True),
                          f"--output-reference={WORK}/tiny")
check("tiny reference runs", rc == 0, err)
rc, err, big = reference(unfused(1, 2048, 8, True),
                         f"--output-reference={WORK}/big")
check("n2048 reference runs", rc == 0, err)
extra = big - base
check("n2048 reference peak below two score matrices", extra < 64,
      f"{extra:.0f} MiB above a tiny run")

# The evaluator's own count agrees: the whole evaluation (the boolean mask
# read as doubles, 32 MiB, and one score matrix) fits in 80 MiB; with
# sampling off it would fail otherwise.
rc, err, _ = reference(unfused(1, 2048, 8, True), "--reference-memory-limit=80M",
                       "--reference-sample-rows=0",
                       f"--output-reference={WORK}/fits")
check("n2048 evaluation fits in 80M", rc == 0, err)
rc, err, _ = reference(unfused(1, 2048, 8, True), "--reference-memory-limit=8M",
                       "--reference-sample-rows=0",
                       f"--output-reference={WORK}/nofit")
check("8M limit without sampling is an error",
      rc == 1 and "error: reference evaluator: evaluating the function needs"
      in err, err)

# Sampled rows are the rows of the whole evaluation, exactly; the others
# are NaN in the written reference.
path = unfused(2, 64, 8, True)
rng = np.random.default_rng(1)
inputs = []
for i, shape in enumerate([(1, 2, 64, 8)] * 3):
    inputs.append(os.path.join(WORK, f"in{i}.npy"))
    np.save(inputs[-1], rng.uniform(-1, 1, shape).astype(np.float32))
keep = rng.random((1, 2, 64, 64)) < 0.7
keep[0, 1, 5, :] = False
inputs.append(os.path.join(WORK, "in3.npy"))
np.save(inputs[-1], keep)
common = ["--input=" + ",".join(inputs)]
rc, err, _ = reference(path, *common, f"--output-reference={WORK}/whole")
rc2, err2, _ = reference(path, *common, "--reference-memory-limit=64K",
                         "--reference-sample-rows=12",
                         f"--output-reference={WORK}/sampled")
check("sampled reference runs", rc == 0 and rc2 == 0, err + err2)
whole = np.load(f"{WORK}/whole.0.npy").reshape(-1, 8)
sampled = np.load(f"{WORK}/sampled.0.npy").reshape(-1, 8)
rows = [r for r in range(len(sampled)) if not np.isnan(sampled[r]).all()]
check("12 rows sampled, first and last among them",
      len(rows) == 12 and rows[0] == 0 and rows[-1] == len(sampled) - 1,
      str(rows))
check("sampled rows equal the whole evaluation's",
      np.array_equal(whole[rows], sampled[rows]),
      str(np.abs(whole[rows] - sampled[rows]).max()))
check("sampling says so", "checking 12 sampled rows of each output" in err2,
      err2)

# --check on sampled rows, and on a graph whose rows need too much.
proc = subprocess.run([ATTN_RUN, path, *common, "--check",
                       "--reference-memory-limit=64K"],
                      capture_output=True, text=True)
check("--check compares sampled rows",
      proc.returncode == 0 and "output 0: sampled 16 of 128 rows" in
      proc.stdout and proc.stdout.rstrip().endswith("OK"), proc.stdout)
proc = subprocess.run([ATTN_RUN, path, *common, "--check",
                       "--reference-memory-limit=1K"],
                      capture_output=True, text=True)
check("a row that does not fit is an error",
      proc.returncode == 1 and "even one row of result 0 needs" in
      proc.stderr, proc.stderr[-500:])

sys.exit(1 if failed else 0)
