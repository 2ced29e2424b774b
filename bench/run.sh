#!/bin/sh
# One command for the CPU benchmark table: sgemm ceiling, G1 and core
# attention through attn-run, side by side with PyTorch in the same run.
# Usage: bench/run.sh [--long] [--runs N] [--threads N] [--attn-run PATH]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/bench.py" "$@"
