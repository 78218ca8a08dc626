#!/usr/bin/env bash
# Installs the Swagger UI assets the queue-manager serves at /docs: the npm package
# swagger-ui-dist, pinned, into build/web (the queue-manager looks in <bin>/../web by default, or
# SWAGGER_UI_DIR). Idempotent: returns at once when the pinned version is there.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=5.17.14
DIR=build/web
PKG="$DIR/node_modules/swagger-ui-dist/package.json"
if [ -f "$PKG" ] && grep -q "\"version\": \"$VERSION\"" "$PKG"; then
  exit 0
fi
mkdir -p "$DIR"
echo "install-web: npm install swagger-ui-dist@$VERSION"
npm install --prefix "$DIR" --no-audit --no-fund --silent "swagger-ui-dist@$VERSION" >/dev/null
test -f "$DIR/node_modules/swagger-ui-dist/swagger-ui-bundle.js"
