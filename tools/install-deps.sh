#!/usr/bin/env bash
# Installs the Debian packages StreamForge builds and tests with. Idempotent: when everything is
# already installed it checks with dpkg-query and returns in well under a second.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  librdkafka-dev
  libboost1.81-dev libboost-system1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsimdjson-dev libfmt-dev libspdlog-dev libsqlite3-dev libcli11-dev
  libssl-dev zlib1g-dev libarchive-dev libyaml-cpp-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
  clang-format clang libclang-rt-14-dev wrk curl procps python3-yaml
  libtorch-dev libopenblas0-pthread python3-torch
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

# npm fetches the Swagger UI assets (tools/install-web.sh). A Node.js from elsewhere (NodeSource)
# already brings npm, and Debian's npm package would conflict with it: install only if absent.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
