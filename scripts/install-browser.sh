#!/usr/bin/env bash
# Installs Debian's chromium for the website widget's browser tests (tests/integration/test_widget.py)
# when it is missing. The tests drive it with the Python playwright package; no browser is downloaded
# by playwright itself. Needs root (CI runs as root) or sudo.
set -euo pipefail
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
echo "browser: installing chromium (apt-get)..."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
"$CHROMIUM" --version
