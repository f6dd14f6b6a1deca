#!/usr/bin/env bash
# Idempotent set-up: installs only what is missing, so a warm run takes seconds.
# Everything comes from crates.io, the npm registry or Debian's packages (no GitHub downloads;
# see the developer guide for why each step is done this way).
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_PACK_VERSION=0.15.1
# Must equal the exact `wasm-bindgen` pin in Cargo.toml, or wasm-pack builds its own copy.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
[ -n "$WASM_BINDGEN_VERSION" ] || { echo "setup: cannot read the wasm-bindgen pin from Cargo.toml" >&2; exit 1; }

export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

install_node_deps() {
  if [ ! -x node_modules/.bin/tsc ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm dev dependencies"
    npm ci --no-audit --no-fund
  fi
}

# The demo and the benchmark run on the committed wasm (pkg/): Node and npm are enough.
if [ "${1:-}" = "--node-only" ]; then
  install_node_deps
  exit 0
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt

if [ "$(wasm-pack --version 2>/dev/null)" != "wasm-pack $WASM_PACK_VERSION" ]; then
  say "installing wasm-pack $WASM_PACK_VERSION (about 2 minutes)"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked
fi

if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes)"
  # No --locked: its lock file pins a webpki-roots version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

install_node_deps

# The clerk-metadata-wasm/redis tests run against a real redis-server (tests/js/redis-*.test.mjs).
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian's redis-server for the clerk-metadata-wasm/redis tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
  else
    say "redis-server is missing: the redis tests will fail until it is installed (apt-get install redis-server)"
  fi
fi

if [ "${CLERK_WASM_BROWSER_TESTS:-}" = 1 ] && ! command -v chromedriver >/dev/null; then
  say "installing Debian's chromium and chromium-driver for the headless browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
fi
say "toolchain ready"
