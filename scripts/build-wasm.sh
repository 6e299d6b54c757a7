#!/usr/bin/env bash
# Builds the wasm modules of the detector (weights embedded in each) into www/:
#   www/pkg-relaxed/ CPU module with wasm SIMD and relaxed SIMD: as pkg-simd, with the direct
#                    kernels on fused multiply-add (`relaxed-simd` feature, enabled per function:
#                    burn-flex's SIMD code does not compile with it on globally) — the default
#                    where the browser has relaxed SIMD (Chromium 114+);
#   www/pkg-simd/    CPU module with wasm SIMD: burn-flex with its SIMD kernels — the default
#                    elsewhere (Safari);
#   www/pkg/         CPU module without SIMD: burn-flex and burn-ndarray — for browsers without
#                    wasm SIMD, and for `cpu: "ndarray"`;
#   www/pkg-webgpu/  WebGPU module: burn-wgpu + burn-flex with SIMD (for its self-test and
#                    fallback) — loaded only where the browser offers a WebGPU adapter.
# A module whose features end in `+simd128` is compiled with that target feature, in a build
# folder of its own (a change of RUSTFLAGS would otherwise rebuild everything each time).
# Each: wasm32 build with the `wasm` profile (opt-level s, 3 for this crate; fat LTO),
# wasm-bindgen --target web (CLI pinned to the wasm-bindgen version in Cargo.lock, installed if
# missing), wasm-opt -Oz — the last two skipped when cargo's output and the tools are unchanged
# (a stamp per module under the build folder's wasm-stamps/).
#
# wasm-opt comes from the npm package `binaryen` (version 132, pinned in package.json): Debian
# bookworm's binaryen 108 rewrites the externref table of wasm-bindgen 0.2.130's output into a
# module that fails to instantiate ("WebAssembly.Table.set(): Argument 1 is invalid").
# DIGITSCOPE_WASM_OPT=0 skips it (faster local iterations).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
MODULES="${DIGITSCOPE_WASM_MODULES:-pkg-relaxed:flex,simd,relaxed-simd+simd128 pkg-simd:flex,simd+simd128 pkg:flex,ndarray pkg-webgpu:flex,simd,webgpu+simd128}"

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
  echo "installing wasm-bindgen-cli $version (the version in Cargo.lock)"
  cargo install wasm-bindgen-cli --version "$version"
fi
WASM_OPT=node_modules/.bin/wasm-opt
[ -x "$WASM_OPT" ] || npm ci --no-audit --no-fund

sizes() {
  for f in "$2/digitscope_bg.wasm" "$2/digitscope.js"; do
    printf '%-32s %9d bytes raw %9d bytes gzip\n' "$1/$(basename "$f")" "$(stat -c %s "$f")" "$(gzip -9c "$f" | wc -c)"
  done
}

for module in $MODULES; do
  name="${module%%:*}"
  features="${module#*:}"
  out="www/$name"
  target_dir="$TARGET_DIR"
  rustflags="${RUSTFLAGS:-}"
  if [ "${features%+simd128}" != "$features" ]; then
    features="${features%+simd128}"
    target_dir="$TARGET_DIR/simd128"
    rustflags="$rustflags -C target-feature=+simd128"
  fi
  RUSTFLAGS="$rustflags" CARGO_TARGET_DIR="$target_dir" cargo build --profile wasm --lib \
    --target wasm32-unknown-unknown --no-default-features --features "$features"
  # wasm-bindgen and wasm-opt (minutes for the WebGPU module) only when cargo's output, the
  # tools or the options changed: the stamp, kept outside the package folder, says what the
  # module in www/ was made from.
  wasm="$target_dir/wasm32-unknown-unknown/wasm/digitscope.wasm"
  stamp_file="$TARGET_DIR/wasm-stamps/$name"
  stamp="$(sha256sum "$wasm" | cut -c1-64) $(wasm-bindgen --version) opt=${DIGITSCOPE_WASM_OPT:-1} $("$WASM_OPT" --version) $features"
  if [ -f "$out/digitscope_bg.wasm" ] && [ -f "$out/digitscope.js" ] && [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp" ]; then
    echo "$name: unchanged since its last build"
    sizes "$name" "$out"
    continue
  fi
  rm -rf "$out" && mkdir -p "$out" "$(dirname "$stamp_file")"
  rm -f "$stamp_file"
  wasm-bindgen --target web --out-dir "$out" --out-name digitscope "$wasm"
  # The features rustc's wasm32 target emits; all are in current browsers (relaxed SIMD only in
  # the module built for it).
  relaxed=""
  [ "${features#*relaxed-simd}" = "$features" ] || relaxed="--enable-relaxed-simd"
  [ "${DIGITSCOPE_WASM_OPT:-1}" = 0 ] || "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd $relaxed \
    -o "$out/digitscope_bg.wasm" "$out/digitscope_bg.wasm"
  rm -f "$out/.gitignore" "$out/package.json" "$out/digitscope_bg.wasm.d.ts"
  sizes "$name" "$out"
  echo "$stamp" > "$stamp_file"
done
