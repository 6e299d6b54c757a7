#!/usr/bin/env bash
# Builds the wasm detector into www/pkg/: release wasm32 build (weights embedded), wasm-bindgen
# (--target web, CLI pinned to the wasm-bindgen version in Cargo.lock, installed if missing),
# then wasm-opt -Oz. Prints the shipped sizes.
#
# wasm-opt comes from the npm package `binaryen` (version 132, pinned in package.json): Debian
# bookworm's binaryen 108 rewrites the externref table of wasm-bindgen 0.2.130's output into a
# module that fails to instantiate ("WebAssembly.Table.set(): Argument 1 is invalid").
# DIGITSCOPE_WASM_OPT=0 skips it (faster local iterations; the output is then about twice as big).
set -euo pipefail
cd "$(dirname "$0")/.."

FEATURES="${DIGITSCOPE_WASM_FEATURES:-flex,ndarray,webgpu}"
OUT="${DIGITSCOPE_WASM_OUT:-www/pkg}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
  echo "installing wasm-bindgen-cli $version (the version in Cargo.lock)"
  cargo install wasm-bindgen-cli --version "$version"
fi
WASM_OPT=node_modules/.bin/wasm-opt
[ -x "$WASM_OPT" ] || npm ci --no-audit --no-fund

cargo build --release --lib --target wasm32-unknown-unknown --no-default-features --features "$FEATURES"
rm -rf "$OUT" && mkdir -p "$OUT"
wasm-bindgen --target web --out-dir "$OUT" --out-name digitscope \
  "$TARGET_DIR/wasm32-unknown-unknown/release/digitscope.wasm"
# The features rustc's wasm32 target emits; all are in current browsers.
[ "${DIGITSCOPE_WASM_OPT:-1}" = 0 ] || "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  -o "$OUT/digitscope_bg.wasm" "$OUT/digitscope_bg.wasm"
rm -f "$OUT/.gitignore" "$OUT/package.json"
for f in "$OUT"/digitscope_bg.wasm "$OUT"/digitscope.js; do
  printf '%-28s %9d bytes raw %9d bytes gzip\n' "$(basename "$f")" "$(stat -c %s "$f")" "$(gzip -9c "$f" | wc -c)"
done
