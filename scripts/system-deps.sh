#!/bin/sh
# System packages llmnas uses that PyPI does not carry:
#   dataset-fashion-mnist  real Fashion-MNIST IDX files (/usr/share/datasets/fashion-mnist)
#                          for the supernet spaces (spos, ofa, autoformer) and `llmnas retrain`.
# With --test, also what the test suite needs:
#   chromium               headless browser for the `llmnas dashboard` test (tests/report/test_dashboard_browser.py)
# Safe to run again: it installs only what is missing. Uses sudo when not run as root.
set -eu
PKGS="dataset-fashion-mnist"
for arg in "$@"; do
  case "$arg" in
    --test) PKGS="$PKGS chromium" ;;
    *) echo "usage: sh scripts/system-deps.sh [--test]" >&2; exit 2 ;;
  esac
done
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "llmnas: no apt-get here; install$missing yourself (Fashion-MNIST IDX files, or point llmnas to a CIFAR-10 folder; chromium for the dashboard test)" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
