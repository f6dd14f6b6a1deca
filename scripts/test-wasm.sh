#!/usr/bin/env bash
# Runs the wasm-bindgen-test suite (tests/wasm.rs) against the local Clerk-compatible server,
# under Node (default) or headless Chromium (`--browser`). Fails unless tests really ran.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WASM_PACK_CACHE="$PWD/.cache/wasm-pack"
mkdir -p "$WASM_PACK_CACHE" .cache

mode=node
[ "${1:-}" = "--browser" ] && mode=browser

log=.cache/wasm-test-$mode.log
server_out=.cache/wasm-test-server-$mode.json
node scripts/local-server.mjs --no-write-limit --seed tests/fixtures/wasm-users.json > "$server_out" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$server_out" ] && break; sleep 0.1; done
url=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).url)' "$server_out")
# Baked in at compile time: the browser has no environment variables to read.
export CLERK_WASM_TEST_API_URL="$url"

if [ "$mode" = browser ]; then
  WASM_BINDGEN_USE_BROWSER=1 wasm-pack test --headless --chrome --chromedriver "$(command -v chromedriver)" -- --test wasm 2>&1 | tee "$log"
else
  wasm-pack test --node -- --test wasm 2>&1 | tee "$log"
fi
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || exit "$status"
# wasm-pack exits 0 when it skips ("only configured to run in ..."): demand a real count.
if grep -qi "skipping" "$log" || ! grep -Eq "test result: ok\. [1-9][0-9]* passed; 0 failed" "$log"; then
  echo "test-wasm: no wasm tests ran under $mode" >&2
  exit 1
fi
echo "test-wasm: $(grep -Eo '[0-9]+ passed; 0 failed' "$log" | tail -1) under $mode"
