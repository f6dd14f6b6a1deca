#!/usr/bin/env bash
# Type tests of the built declarations (dist/index.d.ts): tests/types/ compiled with tsc --noEmit
# under module/moduleResolution nodenext and bundler, strict and exactOptionalPropertyTypes.
# augmented/ augments UserPublicMetadata and UserPrivateMetadata (wrong writes carry
# @ts-expect-error); plain/ checks that un-augmented code still takes any keys and values.
# Needs dist/ (node scripts/build.mjs --skip-wasm). Exits non-zero on the first failing project.
set -euo pipefail
cd "$(dirname "$0")/.."
tsc=node_modules/.bin/tsc
if [ ! -f dist/index.d.ts ]; then
  echo "test-types: dist/index.d.ts is missing; build first (node scripts/build.mjs --skip-wasm)" >&2
  exit 1
fi
for project in tests/types/tsconfig.nodenext.json tests/types/tsconfig.bundler.json \
  tests/types/plain/tsconfig.nodenext.json tests/types/plain/tsconfig.bundler.json; do
  echo "tsc --noEmit -p $project"
  "$tsc" --noEmit -p "$project"
done
echo "type tests: 4 projects compiled as expected"
