#!/bin/sh
# setup.sh: install the browser tests' one npm package (playwright-core, the
# version pinned in package-lock.json) into tests/browser/node_modules, once.
# The browser is Debian's chromium (scripts/deps.sh); playwright never
# downloads one of its own here.
set -eu
cd "$(dirname "$0")"
[ -f node_modules/playwright-core/package.json ] && exit 0
command -v npm >/dev/null || { echo "setup: npm is missing (install Node.js 20 or later with npm)" >&2; exit 1; }
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2
