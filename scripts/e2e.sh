#!/usr/bin/env bash
# End-to-end test of the page (issue 3, item 9): build dist/ with trunk, install the test's one npm
# dependency (playwright-core, pinned in tests/e2e/package-lock.json; no browser download), then
# run tests/e2e/ with node's test runner against Debian's headless Chromium.
#
#   bash scripts/e2e.sh                 # build, install, test
#   E2E_SKIP_BUILD=1 bash scripts/e2e.sh  # reuse an existing dist/
#
# Environment: LATENT_LAB_CACHE (build outputs, default ~/.cache/latent-lab), E2E_OUT (screenshot,
# default target/e2e/page.png), E2E_TIMEOUT (seconds for the test run, default 600),
# E2E_CHROMIUM (default /usr/bin/chromium); see tests/e2e/page.test.mjs for the rest.
set -euo pipefail
cd "$(dirname "$0")/.."

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export E2E_OUT="${E2E_OUT:-target/e2e/page.png}"
export E2E_CHROMIUM="${E2E_CHROMIUM:-/usr/bin/chromium}"
cache="${LATENT_LAB_CACHE:-$HOME/.cache/latent-lab}"

need() { command -v "$1" >/dev/null 2>&1 || { echo "e2e: $1 not found — run scripts/setup.sh first" >&2; exit 2; }; }
need node
need npm
[ -x "$E2E_CHROMIUM" ] || { echo "e2e: no browser at $E2E_CHROMIUM — run scripts/setup.sh first" >&2; exit 2; }

start=$(date +%s)
if [ "${E2E_SKIP_BUILD:-0}" != 1 ]; then
  need trunk
  echo "e2e: trunk build --release (CARGO_TARGET_DIR=$cache/wasm)"
  t0=$(date +%s)
  CARGO_TARGET_DIR="$cache/wasm" trunk build --release
  echo "e2e: page built in $(( $(date +%s) - t0 )) s"
fi
[ -f dist/index.html ] || { echo "e2e: dist/index.html missing — the trunk build did not produce the page" >&2; exit 1; }

echo "e2e: npm ci --prefix tests/e2e (playwright-core, no browser download)"
npm ci --prefix tests/e2e --no-audit --no-fund --prefer-offline --loglevel=error

mkdir -p "$(dirname "$E2E_OUT")"
echo "e2e: node --test tests/e2e/ (timeout ${E2E_TIMEOUT:-600} s)"
t0=$(date +%s)
rc=0
timeout --kill-after=20 "${E2E_TIMEOUT:-600}" node --test --test-reporter=spec tests/e2e/ || rc=$?
echo "e2e: tests ran in $(( $(date +%s) - t0 )) s (whole script $(( $(date +%s) - start )) s); exit status $rc"
[ "$rc" = 124 ] && echo "e2e: the test run passed its ${E2E_TIMEOUT:-600} s limit" >&2
exit "$rc"
