#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine of this project's kind:
# wasm target, Chromium + ChromeDriver, and pinned trunk, wasm-bindgen-cli, wasm-opt (binaryen)
# and wasm-pack built from crates.io. Each step is skipped when already done.
set -euo pipefail

# Pinned tool versions. WASM_BINDGEN must equal the `wasm-bindgen` in Cargo.lock.
WASM_BINDGEN=0.2.130
TRUNK=0.21.14
WASM_PACK=0.15.1
# binaryen version of the `wasm-opt` crate; Trunk.toml's [tools] wasm_opt must say version_<this>.
WASM_OPT=116
WASM_OPT_CRATE=0.116.1

log() { printf '[setup] %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
# Node runs the end-to-end test and the benchmark (playwright-core from npm drives Chromium).
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# wasm-bindgen-cli installs only without --locked (its lock pins crates that no longer build).
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN" ]; then
  log "building wasm-bindgen-cli $WASM_BINDGEN (several minutes)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN" --force
fi

if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK" ]; then
  log "building trunk $TRUNK (tens of minutes on 2 cores)"
  cargo install trunk --version "$TRUNK" --locked --force
fi

# wasm-opt for trunk's -Oz step (index.html). Not Debian's binaryen 108: its wasm-opt breaks
# wasm-bindgen's externref table. The crates.io `wasm-opt` crate builds binaryen's C++ sources
# (about 10 minutes on 2 busy cores) into ~/.cargo/bin/wasm-opt, which must come before any other
# wasm-opt on PATH: trunk takes the first one and checks it prints "wasm-opt version $WASM_OPT".
if [ "$(wasm-opt --version 2>/dev/null | awk '{print $3}')" != "$WASM_OPT" ]; then
  log "building wasm-opt $WASM_OPT_CRATE (binaryen $WASM_OPT, about 10 minutes)"
  cargo install wasm-opt --version "$WASM_OPT_CRATE" --force
  if [ "$(wasm-opt --version 2>/dev/null | awk '{print $3}')" != "$WASM_OPT" ]; then
    echo "[setup] the wasm-opt on PATH ($(command -v wasm-opt)) is not binaryen $WASM_OPT; put ~/.cargo/bin first" >&2
    exit 1
  fi
fi

# wasm-pack finds the wasm-bindgen and chromedriver above on PATH, so `wasm-pack test` downloads nothing.
if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$WASM_PACK" ]; then
  log "building wasm-pack $WASM_PACK (several minutes)"
  cargo install wasm-pack --version "$WASM_PACK" --locked --force
fi

log "ready: $(rustc --version); wasm-bindgen $(wasm-bindgen --version | awk '{print $2}'); $(trunk --version); $(wasm-pack --version); $(wasm-opt --version); $(chromium --version)"
