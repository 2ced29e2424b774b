#!/bin/sh
# Builds everything bench/gpu.sh needs on the GPU machine, which has PyTorch
# and a CUDA driver but no LLVM/MLIR: one shared library per case of
# bench/gpu_cases.py (the GPU pipeline with device-memory=1, cubins for
# $CHIP embedded), libattn_cuda_runtime.so, a manifest, and the ptxas report
# of every kernel. Run it here, after ./scripts/build.sh.
#
# Usage: bench/gpu-prepare.sh [OUT]   (default build/gpu-bench; CHIP=sm_90;
#        CASES=REGEX compiles only the cases whose name matches)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_OPT_BUILD_DIR:-$root/build}
out=${1:-$build/gpu-bench}
chip=${CHIP:-sm_90}
python=${PYTHON:-python3}
# For vit_b_16 through the project's frontend (torch, torchvision); the
# case is skipped when it cannot import them.
torch_python=${TORCH_PYTHON:-${ATTN_OPT_VENV:-$root/.venv}/bin/python}
[ -x "$torch_python" ] || torch_python=python3
attn_run=$build/bin/attn-run
runtime=$build/lib/libattn_cuda_runtime.so
for f in "$attn_run" "$runtime"; do
  [ -e "$f" ] || { echo "error: $f is missing: build first (scripts/build.sh)" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out/mlir"
cp "$runtime" "$out/"

# The cases' IR and the manifest.
"$python" - "$out" "$chip" "$root" "${CASES:-}" <<'EOF'
import json, os, re, subprocess, sys
out, chip, root, pattern = sys.argv[1:5]
sys.path.insert(0, os.path.join(root, "bench"))
from gpu_cases import all_cases, describe
records = []
for case in all_cases():
    if pattern and not re.search(pattern, case.name):
        continue
    path = os.path.join(out, "mlir", case.name + ".mlir")
    with open(path, "w") as f:
        f.write(case.mlir())
    record = describe(case)
    record["so"] = case.name + ".so"
    records.append(record)
try:
    commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
except OSError:
    commit = "unknown"
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump({"chip": chip, "commit": commit,
               "runtime": "libattn_cuda_runtime.so", "cases": records}, f,
              indent=1)
with open(os.path.join(out, "cases.txt"), "w") as f:
    for r in records:
        f.write(f"{r['name']}\t{r['pipeline']}\n")
EOF

# vit_b_16 whole, weights as arguments.
if [ -z "${CASES:-}" ] || echo vit_b_16_whole_bf16_b1 | grep -Eq "$CASES"; then
  if "$torch_python" "$root/bench/gpu_vit_ir.py" "$out/mlir/vit_b_16_whole_bf16_b1.mlir" \
      "$out/mlir/vit.json" 2>"$out/mlir/vit-ir.log"; then
    "$python" - "$out" <<'EOF'
import json, os, sys
out = sys.argv[1]
with open(os.path.join(out, "manifest.json")) as f:
    manifest = json.load(f)
with open(os.path.join(out, "mlir", "vit.json")) as f:
    record = json.load(f)
record["so"] = record["name"] + ".so"
manifest["cases"].append(record)
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
with open(os.path.join(out, "cases.txt"), "a") as f:
    f.write(f"{record['name']}\t{record['pipeline']}\n")
EOF
  else
    echo "warning: vit_b_16 whole-model case skipped ($torch_python could not capture it: see $out/mlir/vit-ir.log)" >&2
  fi
fi

# One library per case. format=bin: ptxas runs here, the driver loads the
# cubin without a JIT; without ptxas, PTX that the driver compiles at load.
format=${FORMAT:-}
if [ -z "$format" ]; then
  if command -v ptxas >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/ptxas ]; then
    format=bin
  else
    format=isa
    echo "warning: no ptxas: embedding PTX (the driver compiles it at load)" >&2
  fi
fi
count=0
while IFS="$(printf '\t')" read -r name options; do
  entry=attention
  case $name in g1_*) entry=vit_attention ;; vit_b_16_whole*) entry=forward ;; esac
  # A chip in the case's options (sm_90a) wins over $CHIP.
  "$attn_run" --target=cuda --gpu-chip="$chip" \
    --gpu-pipeline="device-memory=1 format=$format $options" \
    "$out/mlir/$name.mlir" --entry="$entry" --emit=so -o "$out/$name.so" \
    --header "$out/mlir/$name.h" 2>"$out/mlir/$name.log" || {
      cat "$out/mlir/$name.log" >&2
      echo "error: compiling $name failed" >&2
      exit 1
    }
  count=$((count + 1))
done < "$out/cases.txt"

# What ptxas made of every kernel (registers, spills), for the record.
if command -v ptxas >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/ptxas ]; then
  ptxas=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)
  : > "$out/ptxas.txt"
  while IFS="$(printf '\t')" read -r name options; do
    case $name in vit_b_16_whole*) continue ;; esac  # 500 kernels
    "$build/bin/attn-opt" "$out/mlir/$name.mlir" \
      --attn-gpu-pipeline="chip=$chip device-memory=1 $options" \
      -o "$out/mlir/$name.ptx.mlir"
    arch=$(echo "$options" | sed -n 's/.*chip=\([a-z0-9_]*\).*/\1/p')
    "$python" "$root/scripts/gpu-binaries.py" "$out/mlir/$name.ptx.mlir" \
      -o "$out/mlir/$name.ptx" >/dev/null
    for ptx in "$out/mlir/$name.ptx"/*.ptx; do
      "$ptxas" -arch="${arch:-$chip}" -v "$ptx" -o /dev/null 2>&1 |
        grep -E "Compiling entry|registers|spill" >> "$out/ptxas.txt"
    done
    rm -rf "$out/mlir/$name.ptx" "$out/mlir/$name.ptx.mlir"
  done < "$out/cases.txt"
fi
du -sh "$out" | cut -f1 | xargs printf "%s libraries in %s (%s)\n" "$count" "$out"
