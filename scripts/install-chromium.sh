#!/usr/bin/env bash
# Installs headless Chromium from the distribution's packages (Debian/Ubuntu), for the dashboard's browser test in
# tests/it/admin.rs. Does nothing when a Chromium is already installed; fails when it cannot install one.
set -euo pipefail
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then
    echo "install-chromium: $b is installed"
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: no apt-get on this machine; install Chromium by hand for the dashboard test" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "install-chromium: $(chromium --version)"
