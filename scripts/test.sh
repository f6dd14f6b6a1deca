#!/usr/bin/env bash
# The whole test suite: `npm test`. Installs what is missing (scripts/setup.sh), builds from
# source, then runs every check and test. Stops at the first failure. Ends with one line
# "N passed, N failed" summing every runner's own count, so a suite that ran nothing shows.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
mkdir -p .cache/test-logs
logs=.cache/test-logs
rm -f "$logs"/*.log

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Runs a command, keeping its output for the summary.
run() {
  local name=$1; shift
  "$@" 2>&1 | tee "$logs/$name.log"
  return "${PIPESTATUS[0]}"
}

step "setup"
bash scripts/setup.sh

step "rustfmt and clippy (native and wasm32, warnings are errors)"
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
cargo clippy --target wasm32-unknown-unknown --all-targets --quiet -- -D warnings
# bench/floor/ (the design's floor, measured by `node bench/floor.mjs`) is a crate of its own.
cargo fmt --manifest-path bench/floor/Cargo.toml -- --check
cargo clippy --manifest-path bench/floor/Cargo.toml --target wasm32-unknown-unknown --quiet -- -D warnings

step "cargo test: the pure core, natively"
run cargo cargo test --quiet

step "build: wasm-pack (pkg/) and the bundles (dist/)"
node scripts/build.mjs
if [ -d .git ] && ! git diff --quiet -- pkg/; then
  echo "pkg/ differs from the committed wasm-pack output: rebuild (npm run build) and commit pkg/" >&2
  git --no-pager diff --stat -- pkg/ >&2
  exit 1
fi

step "wasm size"
# The budget is 100 KB gzip and is not met yet (about 122 KB: see CONTRIBUTING). Until it is,
# this guards against regressions: a build that grows past 123,000 B fails.
node -e '
  const size = require("node:zlib").gzipSync(require("node:fs").readFileSync("pkg/clerk_metadata_wasm_bg.wasm"), { level: 9 }).length;
  console.log(`pkg/clerk_metadata_wasm_bg.wasm: ${size} B gzip -9 (budget 100000 B, regression guard 123000 B)`);
  if (size > 123000) { console.error("the wasm grew past the regression guard"); process.exit(1); }
'

step "TypeScript: strict type-check of js/ and the example"
tsc --noEmit -p tsconfig.json

step "TypeScript: type tests of the built declarations (tests/types/)"
bash scripts/test-types.sh

step "README: its TypeScript samples type-check against dist/, its JS samples parse"
node scripts/check-readme.mjs

step "wasm-bindgen-test under Node"
run wasm-node bash scripts/test-wasm.sh
if command -v chromedriver >/dev/null; then
  step "wasm-bindgen-test in headless Chromium"
  run wasm-browser bash scripts/test-wasm.sh --browser
elif [ -n "${CI:-}" ]; then
  echo "CI needs chromedriver for the browser tests (scripts/setup.sh installs it with CLERK_WASM_BROWSER_TESTS=1)" >&2
  exit 1
else
  echo "(skipped: no chromedriver; CLERK_WASM_BROWSER_TESTS=1 npm test installs Debian's chromium)"
fi

# Installed before the JS tests too: tests/convex-bundle also bundles through the example's own
# Convex CLI, and skips that suite when the example is not installed (a fresh clone).
if [ ! -x examples/convex/node_modules/.bin/vitest ] || [ examples/convex/package-lock.json -nt examples/convex/node_modules/.package-lock.json ]; then
  step "Convex example: install"
  (cd examples/convex && npm ci --no-audit --no-fund)
fi

step "JS tests: the built package, the CLI, Convex bundles, the packed tarball, other runtimes"
run node node --test --test-concurrency=2 tests/js/ tests/convex-bundle/ tests/packaging/ tests/runtimes/

step "package checks: attw and publint"
bash scripts/check-package.sh

step "Convex example (convex-test + vitest)"
run convex npm --prefix examples/convex test

step "summary"
node scripts/test-summary.mjs "$logs"
