#!/usr/bin/env bash
# `make test`: everything CI runs, in stages, each timed. Prints a table of stage times at the end
# (also written to out/test-stages.txt) and stops at the first failing stage.
#   setup          MNIST (sha256-checked), npm packages, Chromium, Firefox ESR, WebKitGTK + Xvfb,
#                  the wasm32 target, wasm-bindgen-cli (the version in Cargo.lock), cargo-fuzz
#   lint           rustfmt --check and clippy -D warnings (native, wasm32, fuzz): scripts/lint.sh
#   native build   the workspace in release mode: the CLI, the trainer and their tests
#   native tests   cargo test --release --workspace
#   wasm build     the four wasm modules and the static site (scripts/build-wasm.sh, make site)
#   browser tests  real-browser tests (tests/browser/: Chromium, Firefox, WebKit; the bundlers),
#                  the soaks bounded to 60 s a path
#   fuzz build     the cargo-fuzz targets, built once for all
#   fuzz           10 s of fuzzing per target
set -euo pipefail
cd "$(dirname "$0")/.."
MAKE="${MAKE:-make}"
mkdir -p out
summary=out/test-stages.txt
: > "$summary"
began=$(date +%s)

stage() {
  local name="$1"; shift
  local t0; t0=$(date +%s)
  echo "=== stage: $name ($(date -u +%H:%M:%S) UTC)"
  if ! "$@"; then
    local t=$(( $(date +%s) - t0 ))
    printf '%-14s %5d s  FAILED\n' "$name" "$t" | tee -a "$summary"
    echo "=== make test failed in stage '$name' after $(( $(date +%s) - began )) s"
    cat "$summary"
    exit 1
  fi
  local t=$(( $(date +%s) - t0 ))
  printf '%-14s %5d s\n' "$name" "$t" >> "$summary"
  echo "=== stage $name: ${t} s"
}

setup() {
  $MAKE --no-print-directory mnist browser-deps
  rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  scripts/wasm-bindgen-cli.sh
  scripts/fuzz.sh --install-only
}

stage setup setup
stage lint scripts/lint.sh
stage "native build" cargo test --release --workspace --no-run
stage "native tests" cargo test --release --workspace
stage "wasm build" $MAKE --no-print-directory site
stage "browser tests" npm run test:browser
stage "fuzz build" scripts/fuzz.sh --build-only
stage fuzz scripts/fuzz.sh 10

echo "=== make test passed in $(( $(date +%s) - began )) s; stage times:"
printf '%-14s %5d s\n' total "$(( $(date +%s) - began ))" >> "$summary"
cat "$summary"
