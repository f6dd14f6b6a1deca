#!/usr/bin/env bash
# Lints the package as users get it: packs the repo (the dist/ that is there; no build, lifecycle
# scripts off) into a temporary directory, then checks that tarball with
#   - attw (@arethetypeswrong/cli): the types resolve, and match the JavaScript, under every
#     TypeScript resolution mode (node10, node16 CJS and ESM, bundler), for every entry point;
#   - publint: package.json's fields and exports map agree with the packed files.
# Fails on any problem either reports (publint: warnings too, and suggestions). Needs a built
# dist/ (`npm run build`, or `node scripts/build.mjs --skip-wasm`). Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

for file in dist/index.mjs dist/index.cjs dist/index.d.ts dist/index.d.cts dist/testing.d.ts; do
  [ -f "$file" ] || { echo "$file is missing: run \`npm run build\` first" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

npm pack --ignore-scripts --silent --pack-destination "$tmp" >/dev/null
tarball=$(ls "$tmp"/*.tgz)
echo "packed: $(basename "$tarball")"

echo "-- attw (all resolution modes: node10, node16 CJS/ESM, bundler)"
attw "$tarball" --profile strict --format table --no-emoji --no-color

echo "-- publint"
out=$(publint run "$tarball" --strict --level suggestion 2>&1) || { echo "$out"; exit 1; }
echo "$out"
# publint exits 0 on suggestions; any listed message counts as a problem here.
if grep -Eq '^(Suggestions|Warnings|Errors):' <<<"$out"; then
  echo "publint reported problems" >&2
  exit 1
fi
