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

step "browser tests, CPU backends (headless Chromium)"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-600}
wasm cargo test --release --target wasm32-unknown-unknown --test web_cpu

step "browser tests, WebGPU (headless Chromium, SwiftShader adapter here; fails without an adapter)"
timeout 900 env CARGO_TARGET_DIR="$CACHE/wasm" cargo test --release --target wasm32-unknown-unknown --test web_gpu

echo
echo "all test stages passed"
