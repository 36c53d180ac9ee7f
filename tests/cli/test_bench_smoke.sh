#!/usr/bin/env bash
# bench/run --smoke: the benchmark script and tokenctl-seed still work (tiny databases, one
# run each, figures not judged; the real benchmarks never run under CTest).
. "$(dirname "$0")/lib.sh"

case_ "bench/run --smoke prints every figure line"
out=$(TOKENCTL_SEED_BIN="$(dirname "$TOKENCTL_BIN")/tokenctl-seed" \
  python3 "$TOKENCTL_SOURCE_DIR/bench/run" --smoke 2>"$TMP/err")
RC=$?
OUT=$out
ERR=$(cat "$TMP/err")
expect_rc 0
check test "$(printf '%s\n' "$OUT" | grep -cE '^ratio [^ ]+ [0-9.]+ target (<=|>=) [0-9.]+ (OK|MISS)$')" = 19

finish
