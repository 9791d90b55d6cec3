#!/usr/bin/env bash
# Headless Chromium for the session browser's test (tests/test_server_browser.py), from the
# distribution's package: Playwright drives it through executable_path, so `playwright install`
# (a download from outside the package manager) is never needed. Idempotent; never fatal: when
# Chromium cannot be installed, the browser test skips and says why.
set -uo pipefail

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing chromium (Debian package) for the browser test" >&2
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; }; then
  echo "setup: could not install chromium; tests/test_server_browser.py will skip" >&2
fi
exit 0
