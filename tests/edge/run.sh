#!/usr/bin/env bash
# Runs a kernel sum inside workerd (Cloudflare's runtime, from npm): the library bundled for the
# browser platform, its engine as a static .wasm module. Checks that the default path is refused
# with the error naming the edge entry, and that the sum is right; prints the call's time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
work="$(mktemp -d)"
cp "$here/worker.mjs" "$here/config.capnp" "$work/"
deno bundle --platform browser -o "$work/keops.mjs" "$root/mod.ts" >/dev/null
deno eval "import { engineBytes } from '$root/backends/wasm/bytes.ts'; Deno.writeFileSync('$work/engine.wasm', engineBytes(false));"
(cd "$work" && npm install --silent --no-audit --no-fund workerd@1.20261117.1 >/dev/null)
cd "$work"
./node_modules/.bin/workerd serve config.capnp >"$work/workerd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  if curl -s -o /dev/null http://127.0.0.1:8797/; then break; fi
  sleep 0.2
done
curl -s -o "$work/first.json" http://127.0.0.1:8797/
# (Date.now() stands still inside a Worker's request: the time of a call is measured from here.)
curl -s -o "$work/second.json" -w '%{time_total}' http://127.0.0.1:8797/ >"$work/time.txt"
echo "workerd: $(cat "$work/first.json")"
echo "workerd: a call (a Gaussian sum of 10^6 pairs and its check) answered in $(cat "$work/time.txt") s"
deno eval "
const a = JSON.parse(Deno.readTextFileSync('$work/first.json')), b = JSON.parse(Deno.readTextFileSync('$work/second.json'));
if (!/@keops-ts\/keops\/edge/.test(a.refused)) throw new Error('the default path was not refused with the edge entry named: ' + a.refused);
for (const r of [a, b]) if (!(r.worst < 1e-5)) throw new Error('wrong kernel sum inside workerd: ' + JSON.stringify(r));
"
