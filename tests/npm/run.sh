#!/usr/bin/env bash
# Packs the npm build (deno task build:npm), installs the tarball into a scratch project, checks
# its types with TypeScript (strict, the standard libs only) and runs a consumer under Node and Bun.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
(cd "$root/dist/npm" && rm -f ./*.tgz && npm pack --silent >/dev/null)
tarball="$(ls "$root"/dist/npm/*.tgz)"
scratch="$(mktemp -d)"
cp "$here/consumer.ts" "$here/tsconfig.json" "$scratch/"
cd "$scratch"
printf '{ "name": "consumer", "private": true, "type": "module" }\n' > package.json
npm install --silent --no-audit --no-fund "$tarball" typescript@5.9.3 @types/node@22 >/dev/null
npx tsc -p tsconfig.json
npx tsc consumer.ts --outDir . --target ES2022 --module NodeNext --moduleResolution NodeNext --skipLibCheck false
node consumer.js
bun consumer.ts
# The TensorFlow.js entry, with its peer installed as a user would.
cp "$here/consumer_tfjs.ts" "$scratch/"
npm install --silent --no-audit --no-fund @tensorflow/tfjs@4.22.0 >/dev/null
npx tsc consumer_tfjs.ts --outDir . --target ES2022 --module NodeNext --moduleResolution NodeNext --skipLibCheck --strict
node consumer_tfjs.js
echo "npm tarball: $(du -k "$tarball" | cut -f1) KiB"
