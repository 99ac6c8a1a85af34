/**
 * The browser test: the demo page (examples/browser/) served locally in three settings —
 * cross-origin isolated, not isolated, and isolated under a strict Content-Security-Policy —
 * loaded in headless Chromium (Debian's `chromium`, driven over the DevTools protocol: no npm
 * package), the numbers it shows checked, and a screenshot of each written to
 * tests/browser/out/ for a person to look at.
 *
 *     deno task build:browser && deno run -A tests/browser/run.ts
 *
 * @module
 */

import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);
const out = new URL("out/", import.meta.url);
await Deno.mkdir(out, { recursive: true });

/** A DevTools protocol session over one WebSocket. */
class Session {
  private id = 0;
  private readonly pending = new Map<
    number,
    (r: { result?: unknown; error?: { message: string } }) => void
  >();
  readonly events: { method: string; params: Record<string, unknown> }[] = [];
  private readonly ws: WebSocket;
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.id !== undefined) this.pending.get(m.id)?.(m);
      else this.events.push(m);
    };
  }
  static open(url: string): Promise<Session> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(new Session(ws));
      ws.onerror = () => reject(new Error(`Cannot connect to ${url}`));
    });
  }
  async send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.id;
    const answer = new Promise<{ result?: unknown; error?: { message: string } }>((r) =>
      this.pending.set(id, r)
    );
    this.ws.send(JSON.stringify({ id, method, params }));
    const m = await answer;
    if (m.error) throw new Error(`${method}: ${m.error.message}`);
    return m.result as T;
  }
  close() {
    this.ws.close();
  }
}

async function page(mode: string, port: number) {
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("examples/browser/serve.ts", root).pathname, mode, String(port)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const profile = await Deno.makeTempDir();
  const chromium = new Deno.Command("/usr/bin/chromium", {
    args: [
      "--headless=new",
      "--no-sandbox",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--enable-unsafe-webgpu",
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0",
      "--window-size=1200,760",
      "about:blank",
    ],
    stderr: "piped",
    stdout: "null",
  }).spawn();
  try {
    // The DevTools endpoint, from Chromium's first lines.
    const reader = chromium.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let text = "", endpoint: string | undefined;
    while (!endpoint) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`Chromium exited: ${text}`);
      text += value;
      endpoint = text.match(/DevTools listening on (ws:\/\/\S+)/)?.[1];
    }
    (async () => {
      while (!(await reader.read()).done);
    })();
    // The server is up once it prints its line.
    const sr = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    await sr.read();
    const http = endpoint.replace(/^ws/, "http").replace(/\/devtools\/browser\/.*$/, "");
    const target = await (await fetch(`${http}/json/new?about:blank`, { method: "PUT" })).json();
    const s = await Session.open(target.webSocketDebuggerUrl);
    await s.send("Runtime.enable");
    await s.send("Page.enable");
    await s.send("Page.navigate", { url: `http://127.0.0.1:${port}/` });
    let result: Record<string, unknown> | undefined;
    for (let t = 0; t < 600 && !result; t++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await s.send<{ result: { value?: string } }>("Runtime.evaluate", {
        expression: "document.getElementById('result')?.textContent",
        returnByValue: true,
      });
      const v = r.result.value;
      if (v && v.startsWith("{")) result = JSON.parse(v);
    }
    if (!result) throw new Error(`The page (${mode}) showed no result in 60 s`);
    const shot = await s.send<{ data: string }>("Page.captureScreenshot", { format: "png" });
    const png = Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0));
    await Deno.writeFile(new URL(`${mode}.png`, out), png);
    const warnings = s.events
      .filter((e) => e.method === "Runtime.consoleAPICalled" && e.params.type === "warning")
      .map((e) => ((e.params.args as { value?: string }[])[0]?.value ?? ""));
    s.close();
    return { result, warnings };
  } finally {
    chromium.kill();
    server.kill();
    await chromium.status;
    await server.status;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

let port = 8731;
for (const mode of ["isolated", "plain", "csp"]) {
  const { result, warnings } = await page(mode, port++);
  const engines = result.engines as { backend: string; agree?: boolean; ms?: number; error?: string }[];
  console.log(`${mode}: ${JSON.stringify(result)}; warnings: ${JSON.stringify(warnings)}`);
  for (const e of engines) {
    assert.ok(e.agree === true, `${mode}: ${e.backend} ${e.error ?? "disagrees with plain JavaScript"}`);
  }
  assert.ok(engines.some((e) => e.backend === "cpu"));
  const keops = warnings.filter((w) => w.startsWith("keops-ts"));
  assert.ok(keops.length <= 1, `${mode}: at most one warning: ${JSON.stringify(keops)}`);
  if (mode === "isolated") {
    assert.equal(result.crossOriginIsolated, true);
    assert.ok((result.threads as number) >= 1);
    assert.equal(keops.length, 0, "no warning where threads run");
  } else {
    assert.equal(result.threads, 1, `${mode}: getThreads() tells the truth`);
    if (mode === "plain") assert.match(keops[0] ?? "", /cross-origin isolated/);
    else assert.match(keops[0] ?? "", /could not start/);
  }
}
console.log(`browser test: 3 settings passed; screenshots in tests/browser/out/`);
