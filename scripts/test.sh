#!/usr/bin/env bash
# `make test`: everything CI runs, in stages, each timed. Prints a table of stage times at the end
# (also written to out/test-stages.txt) and stops at the first failing stage.
#   setup          MNIST (sha256-checked), npm packages, Chromium, Firefox ESR, WebKitGTK + Xvfb,
#                  the wasm32 target, wasm-bindgen-cli (the version in Cargo.lock), cargo-fuzz
#   lint           rustfmt --check and clippy -D warnings (native, wasm32, fuzz): scripts/lint.sh
#   native build   the workspace in release mode: the CLI, the trainer and their tests
#   native tests   cargo test --release --workspace
#   wasm build     the four wasm modules and the static site (scripts/build-wasm.sh, make site),
#                  with the fuzz build alongside (below)
#   fuzz build     the cargo-fuzz targets, built once for all: what is left of it once the wasm
#                  build is done
#   browser tests  real-browser tests (tests/browser/: Chromium, Firefox, WebKit; the bundlers),
#                  the soaks bounded to 60 s a path
#   fuzz           10 s of fuzzing per target
# Side by side where one stage leaves a core idle (measured on a 2-core machine, with a sampler of
# /proc/stat): the wasm build runs on one core for about half its time (each module's fat LTO,
# wasm-bindgen and wasm-opt — binaryen compiled to wasm, single-threaded — 450 s of its 876 on a
# fresh machine), so the fuzz build (its own build folder, every core it is given) runs beside it;
# setup's two cargo installs (compiling) run beside its downloads. The browser tests run alone:
# their soaks are bounded by time.
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

# A job beside the stages: its own session (so that it and its children can be stopped together),
# its output kept in a log that is printed when it is waited for.
background_pid=""
background_log=""
background() {
  background_log="$1"; shift
  setsid -w "$@" > "$background_log" 2>&1 &
  background_pid=$!
}
wait_background() {
  local rc=0
  wait "$background_pid" || rc=$?
  background_pid=""
  cat "$background_log"
  [ "$rc" -eq 0 ] || echo "=== $background_log: exit $rc"
  return "$rc"
}
trap '[ -z "$background_pid" ] || kill -- -"$background_pid" 2>/dev/null || true' EXIT

# (Inside a stage `set -e` does not apply: every step says how it fails.)
setup() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown || return 1
  background out/setup-tools.log bash -c 'scripts/wasm-bindgen-cli.sh && scripts/fuzz.sh --install-only'
  $MAKE --no-print-directory mnist browser-deps || return 1
  wait_background
}

wasm_build() {
  background out/fuzz-build.log scripts/fuzz.sh --build-only
  $MAKE --no-print-directory site
}

stage setup setup
stage lint scripts/lint.sh
stage "native build" cargo test --release --workspace --no-run
stage "native tests" cargo test --release --workspace
stage "wasm build" wasm_build
stage "fuzz build" wait_background
stage "browser tests" npm run test:browser
stage fuzz scripts/fuzz.sh 10

echo "=== make test passed in $(( $(date +%s) - began )) s; stage times:"
printf '%-14s %5d s\n' total "$(( $(date +%s) - began ))" >> "$summary"
cat "$summary"
