#!/usr/bin/env bash
# Builds the playground (release wasm) and serves it on http://127.0.0.1:${PORT:-8080}/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$REPO_ROOT/scripts/fetch-data.sh"
"$REPO_ROOT/scripts/build-web.sh"
ensure_node
exec node "$REPO_ROOT/www/serve.mjs" "${PORT:-8080}"
