#!/usr/bin/env bash
# Installs the web assets, pinned, from npm into build/web: swagger-ui-dist (the queue-manager's
# and the visualizer's /docs), the visualizer's chart libraries (lightweight-charts, uplot,
# cytoscape) and playwright-core for the browser tests (it drives Debian's chromium; it downloads
# no browser). Idempotent: returns at once when the pinned versions are there.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=build/web
PINS=(swagger-ui-dist@5.17.14 lightweight-charts@5.2.1 uplot@1.6.32 cytoscape@3.34.4 playwright-core@1.65.1)
missing=()
for pin in "${PINS[@]}"; do
  name=${pin%@*}
  version=${pin##*@}
  pkg="$DIR/node_modules/$name/package.json"
  if ! { [ -f "$pkg" ] && grep -q "\"version\": \"$version\"" "$pkg"; }; then missing+=("$pin"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
mkdir -p "$DIR"
echo "install-web: npm install ${missing[*]}"
npm install --prefix "$DIR" --no-audit --no-fund --silent --save-exact "${PINS[@]}" >/dev/null
test -f "$DIR/node_modules/swagger-ui-dist/swagger-ui-bundle.js"
test -f "$DIR/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js"
test -f "$DIR/node_modules/uplot/dist/uPlot.iife.min.js"
test -f "$DIR/node_modules/cytoscape/dist/cytoscape.min.js"
