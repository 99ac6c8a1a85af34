/**
 * Serves the browser demo (examples/browser/) and the library's browser bundle
 * (dist/browser/keops.mjs, `deno task build:browser`) on localhost, in one of three settings:
 * `isolated` (the COOP/COEP headers of cross-origin isolation: threads), `plain` (no isolation:
 * one thread), `csp` (isolated, and a strict Content-Security-Policy whose worker-src 'self'
 * refuses the engine's data: workers).
 *
 *     deno run -A examples/browser/serve.ts [isolated|plain|csp] [port]
 *
 * @module
 */

const mode = Deno.args[0] ?? "isolated";
const port = Number(Deno.args[1] ?? 8000);
if (!["isolated", "plain", "csp"].includes(mode)) {
  throw new Error(`Unknown mode ${mode}: isolated, plain or csp`);
}
const root = new URL("../../", import.meta.url);
const files: Record<string, [URL, string]> = {
  "/": [new URL("examples/browser/index.html", root), "text/html"],
  "/app.js": [new URL("examples/browser/app.js", root), "text/javascript"],
  "/style.css": [new URL("examples/browser/style.css", root), "text/css"],
  "/keops.mjs": [new URL("dist/browser/keops.mjs", root), "text/javascript"],
};
const headers = (type: string): Record<string, string> => ({
  "content-type": `${type}; charset=utf-8`,
  ...(mode !== "plain"
    ? {
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
    }
    : {}),
  ...(mode === "csp"
    ? {
      "content-security-policy":
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'",
    }
    : {}),
});
Deno.serve({
  port,
  hostname: "127.0.0.1",
  onListen: () => console.log(`serving the demo (${mode}) on http://127.0.0.1:${port}/`),
}, async (req) => {
  const f = files[new URL(req.url).pathname];
  if (!f) return new Response("not found", { status: 404 });
  return new Response(await Deno.readFile(f[0]), { headers: headers(f[1]) });
});
