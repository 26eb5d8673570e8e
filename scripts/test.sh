#!/usr/bin/env bash
# Every check, in the order CI runs them: fmt, clippy (native and wasm32), native tests (CPU and
# wgpu on Mesa's lavapipe), the wasm32 release build, and the page in headless Chromium.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
# Mesa's Vulkan loader warns on every start without a runtime dir.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
start=$(date +%s)
stage() { echo; echo "==> [$(( $(date +%s) - start ))s] $*"; }

stage "tools"
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
ensure_wasm_tools
ensure_node
apt_install chromium chromium-driver mesa-vulkan-drivers
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
scripts/fetch-data.sh  # MNIST, Fashion-MNIST, Animal-MNIST: data/ and www/data/*.bin (cached)

stage "cargo fmt --check"
cargo fmt --all -- --check

stage "cargo clippy (native, all targets)"
cargo clippy --all-targets -- -D warnings

stage "cargo clippy (wasm32)"
cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings

stage "cargo test (native: CPU and wgpu)"
cargo test

stage "wasm32 release build"
scripts/build-web.sh

stage "browser tests (headless Chromium: WebGPU on SwiftShader, and forced CPU)"
node --test --test-concurrency=1 tests/browser/

stage "all checks passed in $(( $(date +%s) - start ))s"
