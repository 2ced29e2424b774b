#!/usr/bin/env bash
# Builds attn-opt and runs every test: lit (IR + end-to-end), GoogleTest unit
# tests, a short fuzz run of each parser, a short mutation fuzz of the tools,
# the differential tests, and the Python tests when present.
# Ends with one summary line "N passed, M failed".
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${ATTN_OPT_BUILD_DIR:-$ROOT/build}"
FUZZ_SECONDS="${ATTN_FUZZ_SECONDS:-20}"

"$ROOT/scripts/setup.sh" || exit 1
"$ROOT/scripts/build.sh" || exit 1

passed=0
failed=0
record() { # record NAME PASSED FAILED
  echo "== $1: $2 passed, $3 failed"
  passed=$((passed + $2))
  failed=$((failed + $3))
}

# lit: IR tests and end-to-end tests.
lit_log="$BUILD/lit.log"
/usr/lib/llvm-22/bin/lit -sv "$BUILD/test" 2>&1 | tee "$lit_log"
lit_pass=$(grep -Eo '^ *(Passed|Expectedly Failed) *: *[0-9]+' "$lit_log" | grep -Eo '[0-9]+$' | awk '{s+=$1} END {print s+0}')
lit_fail=$(grep -Eo '^ *(Failed|Unexpectedly Passed|Unresolved|Timed Out) *: *[0-9]+' "$lit_log" | grep -Eo '[0-9]+$' | awk '{s+=$1} END {print s+0}')
record lit "${lit_pass:-0}" "${lit_fail:-0}"

# GoogleTest unit tests.
gtest_log="$BUILD/gtest.log"
gtest_fail=0
: > "$gtest_log"
for t in "$BUILD"/bin/*Tests; do
  [ -x "$t" ] || continue
  "$t" 2>&1 | tee -a "$gtest_log" | tail -n 3 || gtest_fail=1
done
g_pass=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$gtest_log" | grep -Eo '[0-9]+$' | awk '{s+=$1} END {print s+0}')
g_fail=$(grep -Eo '^\[  FAILED  \] [0-9]+ test' "$gtest_log" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
[ -z "$g_pass" ] && [ "$gtest_fail" -ne 0 ] && g_fail=1
record gtest "${g_pass:-0}" "${g_fail:-0}"

# A short fuzz run of each parser (built only with clang).
f_pass=0
f_fail=0
for f in "$BUILD"/bin/attn-*-fuzzer; do
  [ -x "$f" ] || continue
  name=$(basename "$f" -fuzzer); name=${name#attn-}
  corpus=$(mktemp -d)
  cp "$ROOT/fuzz/corpus/$name/"* "$corpus/" 2>/dev/null || true
  if "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "$corpus" > "$BUILD/fuzz-$name.log" 2>&1; then
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$BUILD/fuzz-$name.log" | grep -Eo '[0-9]+$')
    echo "fuzz $name: ${runs:-?} executions, no crash"
    f_pass=$((f_pass + 1))
  else
    echo "fuzz $name: FAILED (see $BUILD/fuzz-$name.log)"
    tail -n 30 "$BUILD/fuzz-$name.log"
    f_fail=$((f_fail + 1))
  fi
  rm -rf "$corpus"
done
record fuzz "$f_pass" "$f_fail"

PYTHON="${ATTN_OPT_VENV:-$ROOT/.venv}/bin/python"

# Mutation fuzzing of attn-opt and attn-run over the lit corpus: no mutant
# may end in a signal, an internal compiler error or a hang
# (ATTN_MUTANTS mutants, fixed seed; fuzz/mutate_ir.py --help for longer runs).
m_log="$BUILD/mutate-ir.log"
if "$PYTHON" "$ROOT/fuzz/mutate_ir.py" --build "$BUILD" \
     --runs "${ATTN_MUTANTS:-150}" --seed 1 > "$m_log" 2>&1; then
  tail -n 1 "$m_log"
  record mutate-ir 1 0
else
  tail -n 40 "$m_log"
  record mutate-ir 0 1
fi

# Differential tests against torch, einops and numpy: random einsum,
# rearrange and attention programs, fixed seed (ATTN_DIFF_PROGRAMS of them;
# test/differential/difftest.py --programs 3000 for a long run).
d_log="$BUILD/differential.log"
"$PYTHON" "$ROOT/test/differential/difftest.py" --build "$BUILD" \
  --programs "${ATTN_DIFF_PROGRAMS:-260}" --seed 1 > "$d_log" 2>&1
grep -E '^FAIL' "$d_log" | head -n 20
tail -n 1 "$d_log"
d_pass=$(tail -n 1 "$d_log" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+')
d_fail=$(tail -n 1 "$d_log" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+')
[ -z "$d_pass" ] && d_fail=1
record differential "${d_pass:-0}" "${d_fail:-0}"

# Python package tests, in the project's virtual environment (scripts/setup.sh).
if [ -d "$ROOT/python/tests" ]; then
  py_log="$BUILD/pytest.log"
  # ATTN_OPT_REQUIRE_TOOLS: a missing tool fails the suite, never skips it.
  (cd "$ROOT" && ATTN_OPT_BUILD_DIR="$BUILD" ATTN_OPT_REQUIRE_TOOLS=1 \
     ATTN_OPT_CACHE_DIR="$BUILD/python-cache" \
     "${ATTN_OPT_VENV:-$ROOT/.venv}/bin/python" -m pytest -q python/tests 2>&1) | tee "$py_log"
  p_pass=$(grep -Eo '[0-9]+ passed' "$py_log" | tail -1 | grep -Eo '[0-9]+')
  p_fail=$(grep -Eo '[0-9]+ (failed|error)' "$py_log" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
  record pytest "${p_pass:-0}" "${p_fail:-0}"
fi

# The failures again, last, bounded: a CI log that keeps only its head and
# tail then still shows what failed and how.
if [ "$failed" -ne 0 ]; then
  echo "== failures"
  # Each failed lit test's report: its first 15 and last 100 lines.
  awk 'function flush(  i) {
         for (i = 1; i <= n; i++)
           if (i <= 15 || i > n - 100) print l[i]; else if (i == 16) print "[...]"
         n = 0; on = 0 }
       /^\*+ TEST .* FAILED \*+$/ {on = 1; n = 0}
       on {l[++n] = $0}
       on && /^\*+$/ && n > 1 {flush()}
       END {if (on) flush()}' "$lit_log" | head -n 800
  grep -E '^\[  FAILED  \]' "$gtest_log" | head -n 20
  grep -E '^FAIL' "$d_log" | head -n 20
  [ -n "${py_log:-}" ] && grep -E '^(FAILED|ERROR) ' "$py_log" | head -n 20
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
