#!/usr/bin/env bash
# Installs wasm-bindgen-cli at the version of the wasm-bindgen crate in Cargo.lock, if the one on
# PATH differs (the CLI and the crate must match exactly). About 2 minutes, once per machine.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
  echo "installing wasm-bindgen-cli $version (the version in Cargo.lock; about 2 minutes, once)"
  cargo install wasm-bindgen-cli --version "$version"
fi
