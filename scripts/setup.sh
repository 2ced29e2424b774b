#!/usr/bin/env bash
# Installs what attn-opt needs on Debian 12, skipping what is already there:
# Debian's LLVM/MLIR 22 toolchain, then a project-local Python virtual
# environment (.venv, or $ATTN_OPT_VENV) with the pinned packages of
# python/requirements.txt (+ bench/requirements.txt with --bench) and
# attn_opt itself installed editable (`pip install -e python`).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${ATTN_OPT_VENV:-$ROOT/.venv}"
WITH_BENCH=0
for arg in "$@"; do
  case "$arg" in
    --bench) WITH_BENCH=1 ;;
    *) echo "setup: unknown option '$arg' (expected --bench)" >&2; exit 2 ;;
  esac
done

PACKAGES=(
  cmake ninja-build ccache
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 lld-22
  libomp-22-dev libclang-rt-22-dev libgtest-dev
  libopenblas0-pthread python3-venv
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# The virtual environment. A stamp per requirements set holds the hash of what
# was installed, so a second run costs nothing and a changed pin reinstalls.
if [ ! -x "$VENV/bin/python" ]; then
  PY="${ATTN_OPT_BASE_PYTHON:-$(command -v python3)}"
  echo "setup: creating $VENV with $("$PY" --version 2>&1)"
  "$PY" -m venv "$VENV"
fi
install_set() { # install_set NAME REQUIREMENTS_FILE
  local stamp="$VENV/.attn-opt-$1" value
  value=$(cat "$2" "$ROOT/python/constraints.txt" "$ROOT/python/pyproject.toml" | sha256sum | cut -c1-16)
  grep -qx "$value" "$stamp" 2>/dev/null && return 0
  echo "setup: installing ${2#$ROOT/} into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$2" -c "$ROOT/python/constraints.txt"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps \
    -e "$ROOT/python"
  echo "$value" > "$stamp"
}
install_set core "$ROOT/python/requirements.txt"
[ "$WITH_BENCH" -eq 0 ] || install_set bench "$ROOT/bench/requirements.txt"
