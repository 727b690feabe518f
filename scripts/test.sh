#!/usr/bin/env bash
# The test command (README, .ci/run): format, lints, native tests (unit + CLI), a wasm32 check,
# and the browser tests in headless Chromium — CPU backends, then WebGPU in its own binary so a
# hang there cannot block the CPU tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

CACHE=${LATENT_LAB_CACHE:-$HOME/.cache/latent-lab}
native() { CARGO_TARGET_DIR="$CACHE/native" "$@"; }
wasm() { CARGO_TARGET_DIR="$CACHE/wasm" "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --check

step "clippy (native and wasm32), warnings are errors"
native cargo clippy --release --all-targets -- -D warnings
wasm cargo clippy --release --target wasm32-unknown-unknown --lib --tests -- -D warnings

step "native tests (unit, CLI on a tiny subset)"
native cargo test --release

# Browser tests run through wasm-pack, as a user types them (it finds the wasm-bindgen and chromedriver
# that setup installed, so nothing is downloaded); --release shares the build cache with clippy and trunk.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-600}
step "browser tests, CPU backends and page components (wasm-pack test --headless --chrome)"
wasm wasm-pack test --headless --chrome --release -- --test web_cpu --test web_app

step "browser tests, WebGPU (SwiftShader adapter here; fails without an adapter)"
wasm timeout 900 wasm-pack test --headless --chrome --release -- --test web_gpu

step "end-to-end: trunk build, served dist/, driven in headless Chromium"
bash scripts/e2e.sh

echo
echo "all test stages passed"
