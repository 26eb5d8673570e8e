#!/usr/bin/env bash
# Builds the wasm bundle into pkg/: rustc (release, simd128, LTO) → wasm-opt → wasm-bindgen.
# wasm-opt runs before wasm-bindgen: run after it, the module fails to load (Table.set error).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
ensure_wasm_tools

echo "==> cargo build --release --target wasm32-unknown-unknown"
cargo build --release --target wasm32-unknown-unknown --lib
raw="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/genlab.wasm"

# wasm-opt takes minutes; its output is cached by the hash of its input, so an unchanged
# crate (a CI run after a session's build) skips it.
mkdir -p "$GENLAB_CACHE/wasm-opt"
key="$(sha256sum "$raw" | cut -c1-32)"
optimized="$GENLAB_CACHE/wasm-opt/$key/genlab.wasm"
if [ "${GENLAB_SKIP_WASM_OPT:-}" = 1 ]; then
  # Development only: a page to click through minutes sooner, 2× larger.
  optimized="$raw"
elif [ ! -f "$optimized" ]; then
  echo "==> wasm-opt -Oz (cached afterwards)"
  mkdir -p "$(dirname "$optimized")"
  wasm-opt -Oz --enable-simd --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
    "$raw" -o "$optimized.tmp"
  mv "$optimized.tmp" "$optimized"
fi

echo "==> wasm-bindgen"
rm -rf pkg
wasm-bindgen --target web --no-typescript --out-dir pkg "$optimized"

raw_bytes=$(stat -c %s "$raw")
opt_bytes=$(stat -c %s "$optimized")
bundle_bytes=$(stat -c %s pkg/genlab_bg.wasm)
gz_bytes=$(gzip -9 -c pkg/genlab_bg.wasm | wc -c)
printf '{"raw_bytes":%d,"wasm_opt_bytes":%d,"bundle_bytes":%d,"gzip_bytes":%d}\n' \
  "$raw_bytes" "$opt_bytes" "$bundle_bytes" "$gz_bytes" | tee pkg/sizes.json
