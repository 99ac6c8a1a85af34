// A Cloudflare Worker: nearest neighbours with the package's edge entry point, whose engine is a
// static .wasm import (Workers refuse to compile WebAssembly from bytes at run time). Deploy
// with wrangler (wrangler.toml here; `npm install @keops-ts/keops` first): wrangler bundles the
// .wasm as a WebAssembly.Module. tests/edge/run.sh runs the same setup inside workerd in CI.
import { Vi, Vj } from "@keops-ts/keops/edge";

export default {
  async fetch(request) {
    if (request.method !== "POST") {
      return new Response("POST {x, y}: the nearest y of each x\n");
    }
    try {
      const { x, y } = await request.json();
      const nn = await Vi(x).sqdist(Vj(y)).argmin(1);
      return Response.json({ nearest: Array.from(nn.data) });
    } catch (e) {
      return Response.json({ error: e.message }, { status: 400 });
    }
  },
};
