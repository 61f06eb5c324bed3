#!/usr/bin/env bash
# Fuzzing (SPEC §10, docs/testing.md): runs every cargo-fuzz target of fuzz/ for a fixed time, from a seed corpus
# made of the examples' and fixtures' registry files, Lua sources and JSON samples.
#
#   scripts/fuzz.sh                 every target for 30 s (what CI runs)
#   scripts/fuzz.sh 600             every target for 10 minutes (the long run recorded in BENCHMARKS.md)
#   scripts/fuzz.sh 60 yaml wit_values   chosen targets
#
# Needs the nightly toolchain (`cargo +nightly`), which these machines have; installs cargo-fuzz from crates.io if
# it is missing. The stable build and tests never depend on any of this. A crash, a panic, an input that takes
# longer than 10 s or a run past 4 GiB fails the script; libFuzzer leaves the input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(registry yaml json_args wit_values lua_values typed_syntax)
fi

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
# No sanitizer: the targets look for panics, hangs and runaway memory in safe Rust; it halves the build time.
# (Add `-s address` by hand to also check the C of the vendored Lua.)
fuzz=(cargo +nightly fuzz)
# cargo-fuzz builds with one codegen unit by default, which makes the optimized build of wasmtime and cranelift
# take most of CI's time on two cores; 16 units build about twice as fast for somewhat slower fuzzing.
cgu=(--codegen-units 16)

seed() { # seed TARGET FILE...
  local dir="fuzz/corpus/$1"
  shift
  mkdir -p "$dir"
  for f in "$@"; do
    cp "$f" "$dir/$(echo "$f" | tr '/' '_')"
  done
}
mapfile -t yaml_files < <(find examples tests/fixtures -name '_index.yaml' -o -name 'wippy.lock' | sort)
mapfile -t lua_files < <(find examples tests/fixtures -name '*.lua' | sort)
seed registry "${yaml_files[@]}"
seed yaml "${yaml_files[@]}"
seed typed_syntax "${lua_files[@]}"
for t in json_args wit_values lua_values; do
  seed "$t" fuzz/seeds/json/*.json
done

"${fuzz[@]}" build -s none "${cgu[@]}"
mkdir -p target/fuzz-logs
for t in "${targets[@]}"; do
  echo "== fuzz $t for ${secs}s"
  log="target/fuzz-logs/$t.log"
  status=0
  "${fuzz[@]}" run -s none "${cgu[@]}" "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$log"
    echo "fuzz target $t failed (exit $status); the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
