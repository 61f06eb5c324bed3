#!/usr/bin/env bash
# Instructions per operation, for comparing two builds on a noisy machine (see BENCHMARKS.md).
# Usage: [WIPPY_METRICS=1] scripts/opcount.sh [path/to/opcount]   (default: target/release/examples/opcount; build it with
#        `cargo build --release --example opcount`). Needs valgrind.
set -euo pipefail
bin=${1:-target/release/examples/opcount}
# Only `measured` in examples/opcount.rs is counted: loading the project and building the host (whose one-time costs,
# like the metrics clock's calibration, vary from run to run) stay out.
count() {
  valgrind --tool=callgrind --toggle-collect='opcount::measured' \
    --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 | awk '/Collected/ {print $4}'
}
base=$(count setup 0)
for spec in core-call:4000 component-call:2000 lua-noop:4000 lua-funcs-call:2000 wasm-spawn:1000 lua-spawn:1000; do
  op=${spec%%:*}
  n=${spec##*:}
  c=$(count "$op" "$n")
  echo "$op $(( (c - base) / n ))"
done
