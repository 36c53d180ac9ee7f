#!/usr/bin/env bash
# bench/run-serve --smoke --postgres-only on the tests' server: the serve benchmark on a
# PostgreSQL registry still works (tiny registries, one short round, figures not judged).
TOKENCTL_TEST_BACKEND=postgres
. "$(dirname "$0")/../cli/lib.sh"
require_tools nginx wrk

case_ "bench/run-serve --smoke --postgres-only prints every figure line"
bin=${TOKENCTL_REAL_BIN:-$TOKENCTL_BIN}
TOKENCTL_BIN=$bin TOKENCTL_SEED_BIN="$(dirname "$bin")/tokenctl-seed" \
  python3 "$TOKENCTL_SOURCE_DIR/bench/run-serve" --smoke --postgres-only >"$TMP/out" 2>"$TMP/err"
RC=$?
OUT=$(cat "$TMP/out")
ERR=$(cat "$TMP/err")
expect_rc 0
check test "$(printf '%s\n' "$OUT" | grep -cE '^ratio pg-[^ ]+ [0-9.]+ target (<=|>=) [0-9.]+ (OK|MISS)$')" = 6

finish
