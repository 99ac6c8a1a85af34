// The TensorFlow.js peers are development-only dependencies of this benchmark, never of the
// library: they are imported here by npm: specifiers rather than listed in deno.json.
// deno-lint-ignore-file no-import-prefix
/**
 * One cell of the comparison: one engine, one workload, one size, in its own process so that
 * its peak memory is its own. `deno run -A bench/compare/cell.ts ENGINE WORKLOAD N`; prints one
 * JSON line: `{ ok: true, runs: [ms…], peakMB }` or `{ ok: false, error }` (out of memory and
 * other failures). A warm-up run precedes 3 timed runs (2 when the warm-up takes over a second,
 * 1 over 4 s, none over the time limit LIMIT_MS, the optional fourth argument); the result of the
 * last run is checked against plain loops.
 *
 * @module
 */

import { Genred, type NDArray, ndarray, setThreads, shutdownThreads, Vi, Vj } from "../../mod.ts";
import { gaussGradX, gaussSum, knn } from "../plain_loops.ts";

const [engine, workload, nArg, limitArg] = Deno.args;
/** The time limit of the cell (ms): a warm-up past it ends the cell. */
const limitMs = Number(limitArg ?? Infinity);
/** The memory table keeps M = 100 rows while N grows; every other workload has M = N. */
const N = Number(nArg), M = workload === "mem" ? 100 : N;
/** The latency cells and the memory table time the Gaussian product. */
const kind = workload === "latency" || workload === "mem" ? "gauss" : workload;
const D = workload === "knn64" ? 64 : 3;
const K = 10;

let seed = 17;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const fill = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rand() * scale);
const X = fill(M * D, D === 64 ? 0.3 : 1),
  Y = fill(N * D, D === 64 ? 0.3 : 1),
  B = fill(N),
  E = fill(M);

async function peakMB(): Promise<number> {
  const status = await Deno.readTextFile("/proc/self/status");
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

/** Plain loops: what a user writes by hand. */
function plainRunner(): () => unknown {
  switch (kind) {
    case "gauss":
      return () => gaussSum(X, Y, B, M, N);
    case "grad":
      return () => gaussGradX(X, Y, B, E, M, N);
    case "knn3":
    case "knn64":
      return () => D === 3 ? knn(X, Y, M, N, K) : knnD(X, Y, M, N, D, K);
    case "lse":
      return () => {
        const out = new Float32Array(M);
        for (let i = 0; i < M; i++) {
          let m = -Infinity, s = 0;
          for (let j = 0; j < N; j++) {
            const d0 = X[3 * i] - Y[3 * j],
              d1 = X[3 * i + 1] - Y[3 * j + 1],
              d2 = X[3 * i + 2] - Y[3 * j + 2];
            const f = -(d0 * d0 + d1 * d1 + d2 * d2);
            if (f > m) {
              s = s * Math.exp(m - f) + 1;
              m = f;
            } else s += Math.exp(f - m);
          }
          out[i] = m + Math.log(s);
        }
        return out;
      };
    case "solve":
      return () => plainSolve();
  }
  throw new Error(`unknown workload ${workload}`);
}

function knnD(
  x: Float32Array,
  y: Float32Array,
  m: number,
  n: number,
  d: number,
  k: number,
): Int32Array {
  const out = new Int32Array(m * k),
    dist = new Float64Array(k),
    idx = new Int32Array(k);
  for (let i = 0; i < m; i++) {
    dist.fill(Infinity);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) {
        const t = x[i * d + c] - y[j * d + c];
        s += t * t;
      }
      if (!(s < dist[k - 1])) continue;
      let p = k - 1;
      while (p > 0 && s < dist[p - 1]) {
        dist[p] = dist[p - 1];
        idx[p] = idx[p - 1];
        p--;
      }
      dist[p] = s;
      idx[p] = j;
    }
    out.set(idx, i * k);
  }
  return out;
}

/** (Id + K) a = b by conjugate gradient, K applied by a double loop each iteration. */
function plainSolve(): Promise<Float64Array> {
  return cg(plainApply, Float64Array.from(B));
}

/** (Id + K) v with K = exp(-10·|x_i - x_j|²), by a double loop: the solve's operator. */
function plainApply(v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let j = 0; j < N; j++) {
      const d0 = X[3 * i] - X[3 * j],
        d1 = X[3 * i + 1] - X[3 * j + 1],
        d2 = X[3 * i + 2] - X[3 * j + 2];
      s += Math.exp(-10 * (d0 * d0 + d1 * d1 + d2 * d2)) * v[j];
    }
    out[i] = s + v[i];
  }
  return out;
}

/** Conjugate-gradient iterations of every solve cell: the same work for every engine. */
const CG_ITERATIONS = 20;

async function cg(
  apply: (v: Float64Array) => Float64Array | Promise<Float64Array>,
  b: Float64Array,
): Promise<Float64Array> {
  const n = b.length,
    a = new Float64Array(n),
    r = Float64Array.from(b),
    p = Float64Array.from(b);
  const dot = (u: Float64Array, v: Float64Array) => u.reduce((s, x, k) => s + x * v[k], 0);
  let rr = dot(r, r);
  for (let it = 0; it < CG_ITERATIONS && rr >= n * 1e-12; it++) {
    const q = await apply(p);
    const s = rr / dot(p, q);
    for (let k = 0; k < n; k++) {
      a[k] += s * p[k];
      r[k] -= s * q[k];
    }
    const nr = dot(r, r);
    for (let k = 0; k < n; k++) p[k] = r[k] + (nr / rr) * p[k];
    rr = nr;
  }
  return a;
}

/** keops-ts on one of its engines. */
function keopsRunner(
  backend: "cpu" | "gpu" | "reference",
): () => Promise<unknown> {
  const x = ndarray(X, [M, D]),
    y = ndarray(Y, [N, D]),
    b = ndarray(B, [N, 1]),
    e = ndarray(E, [M, 1]);
  const aliases = [`x = Vi(${D})`, `y = Vj(${D})`, "b = Vj(1)"];
  const gauss = Genred("Exp(-SqDist(x,y))*b", aliases, { axis: 1 });
  switch (kind) {
    case "gauss":
      return () => gauss(x, y, b, { backend });
    case "grad": {
      const g = gauss.grad("x");
      return () => g(x, y, b, e, { backend });
    }
    case "knn3":
    case "knn64": {
      const g = Genred("SqDist(x,y)", aliases.slice(0, 2), {
        reduction: "ArgKMin",
        k: K,
        axis: 1,
      });
      return () => g(x, y, { backend });
    }
    case "lse": {
      const g = Genred("-SqDist(x,y)", aliases.slice(0, 2), {
        reduction: "LogSumExp",
        axis: 1,
      });
      return () => g(x, y, { backend });
    }
    case "solve": {
      const xx = ndarray(X.subarray(0, N * D), [N, D]);
      const Kxx = Vi(xx).sqdist(Vj(xx)).mul(-10).exp();
      return () => Kxx.solve(b, { alpha: 1, backend, maxIterations: CG_ITERATIONS });
    }
  }
  throw new Error(`unknown workload ${workload}`);
}

async function tfjsRunner(name: string): Promise<() => Promise<unknown>> {
  // The full package registers the gradients (tfjs-core alone does not).
  const tf = await import("npm:@tensorflow/tfjs@4.22.0");
  if (name === "cpu") await import("npm:@tensorflow/tfjs-backend-cpu@4.22.0");
  if (name === "wasm") {
    const w = await import("npm:@tensorflow/tfjs-backend-wasm@4.22.0");
    const entry = import.meta.resolve(
      "npm:@tensorflow/tfjs-backend-wasm@4.22.0",
    );
    w.setWasmPaths(entry.slice(0, entry.lastIndexOf("/") + 1));
  }
  if (name === "webgpu") {
    await import("npm:@tensorflow/tfjs-backend-webgpu@4.22.0");
  }
  if (!(await tf.setBackend(name))) {
    throw new Error(`tfjs backend ${name} did not initialise`);
  }
  await tf.ready();
  const x = tf.tensor2d(X, [M, D]),
    y = tf.tensor2d(Y, [N, D]),
    b = tf.tensor2d(B, [N, 1]),
    e = tf.tensor2d(E, [M, 1]);
  // The dense way its users write it: |x|² + |y|² − 2·x·yᵀ, then exp, then matMul.
  // deno-lint-ignore no-explicit-any
  const sqdist = (p: any, q: any) =>
    tf.add(
      tf.sub(
        tf.sum(tf.square(p), 1, true),
        tf.mul(2, tf.matMul(p, q, false, true)),
      ),
      tf.transpose(tf.sum(tf.square(q), 1, true)),
    );
  // deno-lint-ignore no-explicit-any
  const read = async (t: any) => {
    const v = await t.data();
    t.dispose();
    return v;
  };
  switch (kind) {
    case "gauss":
      return () => read(tf.tidy(() => tf.matMul(tf.exp(tf.neg(sqdist(x, y))), b)));
    case "grad": {
      // deno-lint-ignore no-explicit-any
      const f = tf.grad((p: any) => tf.sum(tf.mul(tf.matMul(tf.exp(tf.neg(sqdist(p, y))), b), e)));
      return () => read(tf.tidy(() => f(x)));
    }
    case "knn3":
    case "knn64":
      return () => read(tf.tidy(() => tf.topk(tf.neg(sqdist(x, y)), K).indices));
    case "lse":
      return () => read(tf.tidy(() => tf.logSumExp(tf.neg(sqdist(x, y)), 1)));
    case "solve": {
      return async () => {
        const Kd = tf.tidy(() => tf.exp(tf.mul(-10, sqdist(x, x))));
        // Read back asynchronously: webgpu's synchronous read needs a canvas.
        const apply = async (v: Float64Array) => {
          const out = tf.tidy(() => tf.matMul(Kd, tf.tensor2d(Float32Array.from(v), [N, 1])));
          const r = Float64Array.from(await out.data());
          out.dispose();
          for (let k = 0; k < N; k++) r[k] += v[k];
          return r;
        };
        const a = await cg(apply, Float64Array.from(B));
        Kd.dispose();
        return a;
      };
    }
  }
  throw new Error(`unknown workload ${workload}`);
}

async function main() {
  let run: () => unknown;
  if (engine === "plain") run = plainRunner();
  else if (engine.startsWith("tfjs-")) run = await tfjsRunner(engine.slice(5));
  else {
    if (engine === "keops-cpu-1") setThreads(1);
    run = keopsRunner(
      engine === "keops-gpu" ? "gpu" : engine === "reference" ? "reference" : "cpu",
    );
  }
  const runs: number[] = [];
  let last: unknown;
  const timed = async () => {
    const t0 = performance.now();
    last = await run();
    return performance.now() - t0;
  };
  if (workload === "latency") {
    // First call (compiles), then the cached calls.
    for (let k = 0; k < 6; k++) runs.push(await timed());
  } else {
    const first = await timed(); // warm-up: compilation, memory growth
    // A warm-up over the limit is the answer: the cell is over the time limit.
    if (first > limitMs) runs.push(first);
    else {for (let k = 0; k < (first > 4000 ? 1 : first > 1000 ? 2 : 3); k++) {
        runs.push(await timed());
      }}
  }
  // The result of the last run is checked (not timed).
  const wrong = check(last);
  shutdownThreads();
  if (wrong) {
    console.log(
      JSON.stringify({
        ok: false,
        oom: false,
        error: `wrong result: ${wrong}`,
      }),
    );
  } else {console.log(
      JSON.stringify({ ok: true, runs, peakMB: await peakMB() }),
    );}
}

/** The values of a result, whatever the engine returned. */
function valuesOf(out: unknown): ArrayLike<number> {
  if (out && typeof out === "object" && "data" in out) {
    return (out as NDArray).data;
  }
  return out as ArrayLike<number>;
}

/**
 * Checks the first rows of a result against plain loops (so that a peer or an engine that
 * returns quickly without computing cannot pass); returns what is wrong, if anything.
 */
function check(out: unknown): string | undefined {
  const v = valuesOf(out);
  const rows = Math.min(4, M);
  const d2 = (i: number, j: number) => {
    let s = 0;
    for (let c = 0; c < D; c++) s += (X[i * D + c] - Y[j * D + c]) ** 2;
    return s;
  };
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-3 * Math.max(1, Math.abs(b));
  if (kind === "solve") {
    // Twenty CG iterations leave a relative residual near 0.09 here; zeros or NaN leave 1 or NaN.
    const Av = plainApply(v);
    let rr = 0, bb = 0;
    for (let i = 0; i < N; i++) {
      rr += (Av[i] - B[i]) ** 2;
      bb += B[i] * B[i];
    }
    const rel = Math.sqrt(rr / bb);
    return rel < 0.2 ? undefined : `relative residual ${rel} after ${CG_ITERATIONS} iterations`;
  }
  for (let i = 0; i < rows; i++) {
    if (kind === "gauss" || kind === "lse") {
      let s = 0;
      for (let j = 0; j < N; j++) {
        s += kind === "gauss" ? Math.exp(-d2(i, j)) * B[j] : Math.exp(-d2(i, j));
      }
      const want = kind === "gauss" ? s : Math.log(s);
      if (!close(v[i], want)) return `row ${i}: ${v[i]} instead of ${want}`;
    } else if (kind === "grad") {
      let g0 = 0;
      for (let j = 0; j < N; j++) {
        g0 += -2 * (X[i * 3] - Y[j * 3]) * Math.exp(-d2(i, j)) * B[j];
      }
      if (!close(v[i * 3], g0 * E[i])) {
        return `row ${i}: ${v[i * 3]} instead of ${g0 * E[i]}`;
      }
    } else if (kind === "knn3" || kind === "knn64") {
      // The K-th nearest distance must match (indices may differ on ties).
      const ds = Array.from({ length: N }, (_, j) => d2(i, j)).sort((a, b) => a - b);
      const got = d2(i, v[i * K + K - 1]);
      if (!close(got, ds[K - 1])) {
        return `row ${i}: the 10th neighbour is at ${got}, not ${ds[K - 1]}`;
      }
    }
  }
  return undefined;
}

try {
  await main();
} catch (err) {
  const msg = String((err as Error)?.message ?? err);
  const oom = /memory|allocat|Array buffer|invalid array length|too large|exceed|RangeError/i
    .test(
      msg + (err as Error)?.name,
    );
  console.log(JSON.stringify({ ok: false, oom, error: msg.slice(0, 200) }));
}
Deno.exit(0);
