#!/usr/bin/env bash
# Configures (once) and builds attn-opt into build/ (or $ATTN_OPT_BUILD_DIR).
# Extra arguments are ninja targets; the default builds everything.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${ATTN_OPT_BUILD_DIR:-$ROOT/build}"
export CCACHE_BASEDIR="$ROOT"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/attn-opt-ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"

if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld-22 \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DATTN_OPT_PYTHON="${ATTN_OPT_VENV:-$ROOT/.venv}/bin/python"
fi
cmake --build "$BUILD" -- "$@"
