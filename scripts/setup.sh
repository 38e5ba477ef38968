#!/usr/bin/env bash
# Installs everything the test suite and benchmarks need on a fresh Debian 12 machine:
# the Debian peers (docs/testing.md) and the npm packages of package-lock.json (which also builds dist/).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(oidc-agent-cli systemd chromium scitokens-cpp libscitokens0 xrootd-server xrootd-scitokens-plugins xrootd-client)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install Debian packages: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
