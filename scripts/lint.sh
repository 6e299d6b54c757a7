#!/usr/bin/env bash
# The format and lint gate of `make test` (`make lint`): rustfmt (rustfmt.toml: 120 columns) and
# clippy with warnings as errors, on the native workspace (every target: lib, bins, tests,
# benches), the wasm32 boundary (src/web.rs compiles only there: every feature at once) and the
# fuzz targets. `cargo fmt --all` (and the same in fuzz/) fixes the format.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
(cd fuzz && cargo fmt --all --check)
cargo clippy --workspace --all-targets --release -- -D warnings
cargo clippy --target wasm32-unknown-unknown --lib --no-default-features \
  --features flex,simd,relaxed-simd,ndarray,webgpu --profile wasm -- -D warnings
(cd fuzz && cargo clippy --all-targets -- -D warnings)
echo "lint: format and clippy clean"
