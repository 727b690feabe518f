#!/usr/bin/env bash
# Set up (idempotent) and serve the page on http://127.0.0.1:8080 with the shipped MNIST and
# pretrained weights. The first build of burn for wasm takes several minutes; later ones are quick.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CARGO_TARGET_DIR="${LATENT_LAB_CACHE:-$HOME/.cache/latent-lab}/wasm"
exec trunk serve "$@"
