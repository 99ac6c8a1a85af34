/**
 * A Deno Deploy-style server (`Deno.serve`): POST /nearest with `{"x": [[…], …], "y": [[…], …]}`
 * answers the nearest y of each x (a LazyTensor ArgMin). `--once` starts it, asks it once, prints
 * the time of that first call in this fresh process (the engine's compilation included) and of
 * a second one, and stops.
 *
 *     deno run -A examples/serve.ts [--once]
 *
 * @module
 */

import { Vi, Vj } from "../mod.ts";

const handler = async (req: Request): Promise<Response> => {
  const url = new URL(req.url);
  if (req.method !== "POST" || url.pathname !== "/nearest") {
    return new Response("POST /nearest with {x, y}\n", { status: 404 });
  }
  try {
    const { x, y } = await req.json();
    const nn = await Vi(x).sqdist(Vj(y)).argmin(1);
    return Response.json({ nearest: Array.from(nn.data) });
  } catch (e) {
    // The library's errors say what was wrong with the input.
    return Response.json({ error: (e as Error).message }, { status: 400 });
  }
};

const server = Deno.serve({ port: 0, onListen: () => {} }, handler);
const { port } = server.addr as Deno.NetAddr;
if (Deno.args.includes("--once")) {
  const body = JSON.stringify({
    x: Array.from({ length: 1000 }, (_, i) => [Math.cos(i), Math.sin(i)]),
    y: Array.from(
      { length: 2000 },
      (_, j) => [Math.cos(0.5 * j), Math.sin(0.5 * j)],
    ),
  });
  const ask = async () => {
    const t = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/nearest`, {
      method: "POST",
      body,
    });
    const out = await res.json();
    if (!Array.isArray(out.nearest) || out.nearest.length !== 1000) {
      throw new Error(JSON.stringify(out));
    }
    return performance.now() - t;
  };
  const first = await ask(), second = await ask();
  console.log(
    `Deno.serve: first call ${first.toFixed(1)} ms (a fresh process: the engine compiled), second ${
      second.toFixed(1)
    } ms (1000 × 2000 ArgMin)`,
  );
  await server.shutdown();
} else console.log(`listening on http://127.0.0.1:${port}/nearest`);
