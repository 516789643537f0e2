#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser tests (tests/api/test_dashboard_browser.py), which drive it
# with Playwright through executable_path — never `playwright install`, which downloads its own build.
# Idempotent: does nothing when /usr/bin/chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-browser.sh: need root to apt-get install chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
