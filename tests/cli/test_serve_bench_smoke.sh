#!/usr/bin/env bash
# bench/run-serve --smoke: the serve benchmark (tokenctl serve, nginx's `return 204` and
# wrk together) still works (tiny registries, one short round, figures not judged).
. "$(dirname "$0")/lib.sh"
require_tools nginx wrk

case_ "bench/run-serve --smoke prints every figure line"
bench_smoke run-serve 6

finish
