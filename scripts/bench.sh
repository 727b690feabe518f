#!/usr/bin/env bash
# The benchmark: builds the CLI and the page (release), then measures training speed natively and in
# headless Chromium, draw-to-outputs and input latency, start-up, size and memory.
# Writes bench/results.json and bench/results.md (see bench/README.md). `--quick` for a short run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
CACHE=${LATENT_LAB_CACHE:-$HOME/.cache/latent-lab}
echo "[bench] load before building: $(uptime)"
CARGO_TARGET_DIR="$CACHE/native" cargo build --release --quiet
CARGO_TARGET_DIR="$CACHE/wasm" trunk build --release >/dev/null
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/e2e --no-audit --no-fund --silent
node scripts/bench.mjs "$@"
cat bench/results.md
