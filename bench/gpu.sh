#!/bin/sh
# The prepared GPU benchmark, for the GPU machine (PyTorch with CUDA, a CUDA
# driver, no LLVM/MLIR): correctness of every compiled kernel against
# PyTorch's SDPA in f32, attention TFLOP/s beside SDPA's flash and cuDNN
# backends, G1 and vit_b_16 latency. The libraries come from
# bench/gpu-prepare.sh, run beforehand where LLVM is (see docs/gpu.md for
# the `run` invocation that carries them).
#
# Usage: bench/gpu.sh [ARTIFACTS] [--quick]   (default build/gpu-bench)
# Results: printed, and written to $OUT/gpu-bench.json when OUT is set.
# Exit status: 0 all checks passed, 1 a check failed, 2 no usable GPU.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
art=${1:-$root/build/gpu-bench}
[ $# -gt 0 ] && shift
python=${PYTHON:-python3}
if [ ! -f "$art/manifest.json" ]; then
  echo "error: $art/manifest.json is missing: run bench/gpu-prepare.sh where LLVM is, and carry its output folder" >&2
  exit 1
fi
if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: no usable CUDA GPU: $python is not installed (needs PyTorch with CUDA)" >&2
  exit 2
fi
art=$(cd "$art" && pwd)
LD_LIBRARY_PATH="$art${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
# The run must fit in 5 minutes of device time, start-up included.
timeout "${GPU_BENCH_TIMEOUT:-280}" "$python" "$root/bench/gpu_bench.py" "$art" ${OUT:+--out "$OUT"} "$@"
rc=$?
if [ $rc -eq 124 ]; then
  echo "error: bench/gpu.sh timed out after ${GPU_BENCH_TIMEOUT:-280} s" >&2
fi
exit $rc
