#!/bin/sh
# The CPU benchmark table: attn-opt against PyTorch eager/SDPA, torch.compile,
# OpenVINO, ONNX Runtime, IREE and the sgemm ceiling, in one run (bench.py).
# Usage: bench/run.sh [--runs N] [--long] [--only GROUPS] [--impl IMPLS] [--json] ...
# The peers come from bench/requirements.txt: when the venv ($ATTN_OPT_VENV,
# default .venv) lacks one of those pins, scripts/setup.sh --bench installs them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
venv=${ATTN_OPT_VENV:-$root/.venv}
pins_met() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$here/requirements.txt" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if "==" in line:
        name, pin = line.split("==")
        try:
            if version(name) != pin:
                sys.exit(1)
        except PackageNotFoundError:
            sys.exit(1)
PY
}
if ! pins_met; then
  ATTN_OPT_VENV=$venv "$root/scripts/setup.sh" --bench >&2
fi
exec "$venv/bin/python" "$here/bench.py" "$@"
