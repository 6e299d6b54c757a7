#!/usr/bin/env bash
# Builds the wasm modules of the detector (weights embedded in each) into www/:
#   www/pkg-relaxed/ CPU module: the direct kernels on relaxed SIMD's fused multiply-add
#                    (`relaxed-simd` feature, enabled per function: burn-flex's SIMD code does
#                    not compile with it on globally) and burn-flex — the default where the
#                    browser validates relaxed SIMD (Chromium 114+, Firefox);
#   www/pkg-simd/    the same CPU module on plain wasm SIMD — the default elsewhere (Safari);
#   www/pkg-ndarray/ the same plus burn-ndarray, loaded only for `cpu: "ndarray"` (burn-ndarray
#                    adds 229 KB gzip, which the default download should not carry);
#   www/pkg-webgpu/  WebGPU module: burn-wgpu + the SIMD CPU engines (for its self-test and
#                    fallback) — loaded only where the browser offers a WebGPU adapter.
# Every module is built with the same RUSTFLAGS (`+simd128`, from .cargo/config.toml) into one
# build folder: burn and its dependencies compile once for the two default CPU modules (whose
# burn features are identical; only this crate recompiles for relaxed SIMD), and only the burn
# crates whose features differ compile again for the ndarray and WebGPU modules. Browsers
# without wasm SIMD (Safari before 16.4, Chrome before 91, Firefox before 89) are not served:
# the loader says so.
#
# Usage: scripts/build-wasm.sh [MODULE...]   (default: all, in the order above)
# Each: wasm32 build with the `wasm` profile (opt-level s, 3 for this crate; fat LTO),
# wasm-bindgen --target web (CLI pinned to the wasm-bindgen version in Cargo.lock, installed if
# missing), wasm-opt -Oz — the last two skipped when cargo's output and the tools are unchanged
# (a stamp per module under the build folder's wasm-stamps/). DIGITSCOPE_CARGO_TIMINGS=1 adds
# cargo's --timings report (target/cargo-timings/).
#
# wasm-opt comes from the npm package `binaryen` (version 132, pinned in package.json): Debian
# bookworm's binaryen 108 rewrites the externref table of wasm-bindgen 0.2.130's output into a
# module that fails to instantiate ("WebAssembly.Table.set(): Argument 1 is invalid").
# DIGITSCOPE_WASM_OPT=0 skips it (faster local iterations).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
# The modules: name and cargo features. The CPU modules share their burn features.
declare -A FEATURES=(
  [pkg-relaxed]=flex,simd,relaxed-simd
  [pkg-simd]=flex,simd
  [pkg-ndarray]=flex,ndarray,simd
  [pkg-webgpu]=flex,simd,webgpu
)
ALL="pkg-relaxed pkg-simd pkg-ndarray pkg-webgpu"
MODULES="${*:-$ALL}"
for name in $MODULES; do
  [ -n "${FEATURES[$name]:-}" ] || { echo "build-wasm: unknown module $name (modules: $ALL)" >&2; exit 2; }
done

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
scripts/wasm-bindgen-cli.sh
WASM_OPT=node_modules/.bin/wasm-opt
[ -x "$WASM_OPT" ] || npm ci --no-audit --no-fund
TIMINGS=()
[ "${DIGITSCOPE_CARGO_TIMINGS:-0}" = 0 ] || TIMINGS=(--timings)

# Each module's files are named after it (pkg-relaxed/digitscope-relaxed.js and
# digitscope-relaxed_bg.wasm …): a bundler that puts every asset in one folder keeps them apart.
stem() { echo "digitscope-${1#pkg-}"; }

sizes() {
  for f in "$2/$(stem "$1")_bg.wasm" "$2/$(stem "$1").js"; do
    printf '%-32s %9d bytes raw %9d bytes gzip\n' "$1/$(basename "$f")" "$(stat -c %s "$f")" "$(gzip -9c "$f" | wc -c)"
  done
}

for name in $MODULES; do
  features="${FEATURES[$name]}"
  out="www/$name"
  echo "building $name (features $features)"
  cargo build --profile wasm --lib --target wasm32-unknown-unknown --no-default-features \
    --features "$features" "${TIMINGS[@]}"
  # wasm-bindgen and wasm-opt (minutes for the WebGPU module) only when cargo's output, the
  # tools or the options changed: the stamp, kept outside the package folder, says what the
  # module in www/ was made from.
  wasm="$TARGET_DIR/wasm32-unknown-unknown/wasm/digitscope.wasm"
  stamp_file="$TARGET_DIR/wasm-stamps/$name"
  stamp="$(sha256sum "$wasm" | cut -c1-64) $(wasm-bindgen --version) opt=${DIGITSCOPE_WASM_OPT:-1} $("$WASM_OPT" --version) $features"
  file="$out/$(stem "$name")"
  if [ -f "${file}_bg.wasm" ] && [ -f "$file.js" ] && [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp" ]; then
    echo "$name: unchanged since its last build"
    sizes "$name" "$out"
    continue
  fi
  rm -rf "$out" && mkdir -p "$out" "$(dirname "$stamp_file")"
  rm -f "$stamp_file"
  wasm-bindgen --target web --out-dir "$out" --out-name "$(stem "$name")" "$wasm"
  # The features rustc's wasm32 target emits; all are in current browsers (relaxed SIMD only in
  # the module built for it).
  relaxed=""
  [ "${features#*relaxed-simd}" = "$features" ] || relaxed="--enable-relaxed-simd"
  [ "${DIGITSCOPE_WASM_OPT:-1}" = 0 ] || "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd $relaxed \
    -o "${file}_bg.wasm" "${file}_bg.wasm"
  rm -f "$out/.gitignore" "$out/package.json" "${file}_bg.wasm.d.ts"
  sizes "$name" "$out"
  echo "$stamp" > "$stamp_file"
done
