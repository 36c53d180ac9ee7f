#!/usr/bin/env bash
# bench/run-postgres --smoke on the tests' server: the script, tokenctl-seed's COPY and the
# delay proxy still work (tiny registries, one run each, figures not judged).
TOKENCTL_TEST_BACKEND=postgres
. "$(dirname "$0")/../cli/lib.sh"

case_ "bench/run-postgres --smoke prints every figure line"
bench_smoke run-postgres 5

finish
