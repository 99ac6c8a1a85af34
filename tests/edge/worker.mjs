// A Cloudflare Worker (run by workerd in CI, tests/edge/run.sh): the library's bundle and its
// engine as a static .wasm import, as the package's "@keops-ts/keops/edge" entry does. GET /
// answers whether the default path was refused with the error that names the edge entry, and a
// Gaussian kernel sum checked against a plain loop.
import engine from "./engine.wasm";
import { Genred, ndarray, setEngineModule } from "./keops.mjs";

const M = 500, N = 2000;
let seed = 3;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const x = Float32Array.from({ length: M * 3 }, rand), y = Float32Array.from({ length: N * 3 }, rand);
const b = Float32Array.from({ length: N }, rand);
const gauss = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { axis: 1 });
const args = () => [ndarray(x, [M, 3]), ndarray(y, [N, 3]), ndarray(b, [N, 1])];
let refused = "not tried";

export default {
  async fetch() {
    if (refused === "not tried") {
      try {
        await gauss(...args());
        refused = "not refused";
      } catch (e) {
        refused = String(e && e.message);
      }
      setEngineModule(engine);
    }
    const out = await gauss(...args());
    let worst = 0;
    for (let i = 0; i < M; i += 50) {
      let s = 0;
      for (let j = 0; j < N; j++) {
        const d = (x[3 * i] - y[3 * j]) ** 2 + (x[3 * i + 1] - y[3 * j + 1]) ** 2 +
          (x[3 * i + 2] - y[3 * j + 2]) ** 2;
        s += Math.exp(-d) * b[j];
      }
      worst = Math.max(worst, Math.abs(out.data[i] - s) / s);
    }
    return Response.json({ refused, worst, pairs: M * N });
  },
};
