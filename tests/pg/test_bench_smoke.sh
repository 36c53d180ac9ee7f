#!/usr/bin/env bash
# bench/run-postgres --smoke on the tests' server: the script, tokenctl-seed's COPY and the
# delay proxy still work (tiny registries, one run each, figures not judged).
TOKENCTL_TEST_BACKEND=postgres
. "$(dirname "$0")/../cli/lib.sh"

case_ "bench/run-postgres --smoke prints every figure line"
out=$(TOKENCTL_BIN=$TOKENCTL_REAL_BIN python3 "$TOKENCTL_SOURCE_DIR/bench/run-postgres" --smoke 2>"$TMP/err")
RC=$?
OUT=$out
ERR=$(cat "$TMP/err")
expect_rc 0
check test "$(printf '%s\n' "$OUT" | grep -cE '^ratio pg-[^ ]+ [0-9.]+ target (<=|>=) [0-9.]+ (OK|MISS)$')" = 5

finish
