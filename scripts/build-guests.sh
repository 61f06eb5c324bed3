#!/usr/bin/env bash
# Rebuilds the guest components in examples/guests (Rust, wasm32-wasip2), copies each .wasm to where the tests
# and examples use it, and checks every `hash:` in the YAML of tests/fixtures and examples against the files.
#
#   scripts/build-guests.sh                 rebuild, copy, check (exit 1 on a stale hash)
#   scripts/build-guests.sh --update-hashes rebuild, copy, and rewrite stale hashes in the YAML
#   scripts/build-guests.sh --check-only    only check the hashes of the committed files
#
# Tests and CI never run this: they use the committed .wasm files and need no WASM toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-}"
out=examples/guests/target/wasm32-wasip2/release

# guest crate -> destinations
declare -A dest=(
  [types]="tests/fixtures/wasm/types.wasm"
  [behave]="tests/fixtures/wasm/behave.wasm"
  [compute]="tests/fixtures/wasm/compute.wasm examples/quickstart/wasm/compute.wasm"
  [caps]="tests/fixtures/wasm/caps.wasm"
  [procs]="tests/fixtures/wasm/procs.wasm examples/quickstart/wasm/procs.wasm examples/supervision/wasm/procs.wasm"
  [jobs]="examples/orchestration/wasm/jobs.wasm"
  [web]="tests/fixtures/wasm/web.wasm examples/quickstart/wasm/web.wasm"
)

if [ "$mode" != "--check-only" ]; then
  rustup target add wasm32-wasip2 >/dev/null
  for g in "${!dest[@]}"; do
    # One package at a time: features of wit-bindgen (std or not) must not unify across guests.
    cargo build --quiet --release --target wasm32-wasip2 --manifest-path examples/guests/Cargo.toml -p "guest-$g"
    for d in ${dest[$g]}; do
      mkdir -p "$(dirname "$d")"
      cp "$out/guest_${g//-/_}.wasm" "$d"
    done
  done
fi

python3 - "$mode" <<'PY'
import hashlib, pathlib, re, sys
update = sys.argv[1] == "--update-hashes"
root = pathlib.Path(".")
digests = {}
for wasm in list(root.glob("tests/fixtures/wasm/*.wasm")) + list(root.glob("examples/**/wasm/*.wasm")):
    digests.setdefault(wasm.name, set()).add(hashlib.sha256(wasm.read_bytes()).hexdigest())
stale = 0
for yaml in [*root.glob("examples/**/_index.yaml"), *root.glob("tests/fixtures/projects/**/_index.yaml"), *root.glob("benches/**/_index.yaml")]:
    if "projects/broken" in str(yaml):
        continue  # wrong on purpose
    text = yaml.read_text()
    def fix(m):
        global stale
        name, old = m.group(2), m.group(4)
        known = digests.get(name)
        if not known or old in known:
            return m.group(0)
        new = sorted(known)[0]
        stale += 1
        print(f"{yaml}: hash of {name} is stale: {old} -> {new}")
        return m.group(0).replace(old, new) if update else m.group(0)
    new_text = re.sub(r"(path:\s*/?([\w./-]+\.wasm)\s*\n(?:.*\n){0,3}?\s*hash:\s*)(sha256:)([0-9a-f]{64})", fix, text)
    if update and new_text != text:
        yaml.write_text(new_text)
if stale and not update:
    print(f"{stale} stale hash(es); run scripts/build-guests.sh --update-hashes")
    sys.exit(1)
print("hashes ok" if not stale else f"updated {stale} hash(es)")
PY
