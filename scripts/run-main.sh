#!/usr/bin/env bash
# The main job: build attn-opt, then compile the reference ViT attention block
# (G1: b=7, n=257, c=512, h=8, d=64) for the CPU, execute it, check it against
# the f64 reference evaluator and print its time.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${ATTN_OPT_BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" attn-opt attn-run

"$BUILD/bin/attn-run" "$ROOT/examples/vit_attention.mlir" \
  --entry=vit_attention --seed=0 --check --bench="${ATTN_BENCH_RUNS:-10}"
