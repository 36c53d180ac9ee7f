#!/usr/bin/env bash
# bench/run --smoke: the benchmark script and tokenctl-seed still work (tiny databases, one
# run each, figures not judged; the real benchmarks never run under CTest).
. "$(dirname "$0")/lib.sh"

case_ "bench/run --smoke prints every figure line"
bench_smoke run 19

finish
