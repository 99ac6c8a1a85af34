/**
 * `deno task bench:cpu [--size N] [--rounds R] [--only substring] [--dtype float64]`: the CPU
 * engines against plain TypeScript loops, over a matrix of workloads (kernel sums with six
 * radial kernels, b of dimension 1 to 4, D from 1 to 16; kNN; ArgMin; LogSumExp;
 * SumSoftMaxWeight; gradients in x and in y), float32, M = N = 5000 by default.
 *
 * Contenders, timed interleaved round by round (the machines are shared and noisy, so only
 * ratios within a run mean anything), medians after a warm-up:
 *
 * - the plain loop: what a user writes without keops-ts, specialised to the workload the way
 *   V8 compiles best: dimensions unrolled, the kernel inline, float64 accumulation. The bench
 *   writes each loop's source from the workload's description (a template of a few lines, so
 *   that thirty loops need not be typed out by hand) and compiles it with `new Function`;
 * - "cpu" (the compiling engine) and "cpu-rust" (the Rust engine), on one thread and on all,
 *   every contender in every round; the last column is cpu's all-thread speed-up over its one
 *   thread, from the same rounds.
 *
 * The unit of the table is millions of pairs per second; × is the speed-up over the plain loop.
 *
 * @module
 */

import {
  Genred,
  type GenredRoutine,
  getThreads,
  type NDArray,
  ndarray,
  setThreads,
  shutdownThreads,
} from "../mod.ts";

const args = Deno.args;
const opt = (name: string, dflt: string) => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 ? args[k + 1] : dflt;
};
const SIZE = Number(opt("size", "5000")), ROUNDS = Number(opt("rounds", "5"));
const ONLY = opt("only", ""),
  DTYPE = opt("dtype", "float32") as "float32" | "float64";
const M = SIZE, N = SIZE;
const ALL = getThreads();

let seed = 7;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const fill = (n: number): Float32Array | Float64Array =>
  DTYPE === "float32" ? Float32Array.from({ length: n }, rand) : Float64Array.from({ length: n }, rand);

/** What the plain loop computes per pair: a JS expression of r2 (the squared distance). */
interface KernelSum {
  name: string;
  formula: string;
  /** Plain-loop kernel of `r2` (and `g`, the bandwidth). */
  js: string;
  D: number;
  E: number;
}

const KERNELS: [string, string, string][] = [
  ["Gaussian", "Exp(-SqDist(x,y))", "Math.exp(-r2)"],
  ["Gaussian, bandwidth g", "Exp(-g*SqDist(x,y))", "Math.exp(-g * r2)"],
  ["Laplace", "Exp(-Sqrt(SqDist(x,y)))", "Math.exp(-Math.sqrt(r2))"],
  [
    "Matérn 3/2",
    "(IntCst(1)+Sqrt(g*SqDist(x,y)))*Exp(-Sqrt(g*SqDist(x,y)))",
    "(1 + Math.sqrt(g * r2)) * Math.exp(-Math.sqrt(g * r2))",
  ],
  ["Cauchy", "Inv(IntCst(1)+SqDist(x,y))", "1 / (1 + r2)"],
  [
    "inverse multiquadric",
    "Rsqrt(IntCst(1)+g*SqDist(x,y))",
    "1 / Math.sqrt(1 + g * r2)",
  ],
];

const SUMS: KernelSum[] = [];
for (const [name, formula, js] of KERNELS) {
  const shapes = name.startsWith("Gaussian") ? [[1, 1], [3, 1], [3, 4], [16, 1], [16, 4]] : [[3, 1], [3, 4]];
  for (const [D, E] of shapes) {
    SUMS.push({ name, formula: `${formula}*b`, js, D, E });
  }
}

/** Unrolled sums of `D` terms. */
const terms = (D: number, f: (c: number) => string, sep = " + ") =>
  Array.from({ length: D }, (_, c) => f(c)).join(sep);
const sqdist = (D: number) =>
  `${terms(D, (c) => `const d${c} = x${c} - y[${D} * j + ${c}];`, " ")} const r2 = ${
    terms(D, (c) => `d${c} * d${c}`)
  };`;
const loadX = (D: number) => terms(D, (c) => `const x${c} = x[${D} * i + ${c}];`, " ");

/** The plain loop of a kernel sum: out_i,e = Σ_j k(|x_i − y_j|²) b_j,e. */
function plainSum(w: KernelSum) {
  const src = `
    const out = new Float64Array(M * ${w.E});
    for (let i = 0; i < M; i++) {
      ${loadX(w.D)}
      ${terms(w.E, (e) => `let s${e} = 0;`, " ")}
      for (let j = 0; j < N; j++) {
        ${sqdist(w.D)}
        const k = ${w.js};
        ${terms(w.E, (e) => `s${e} += k * b[${w.E} * j + ${e}];`, " ")}
      }
      ${terms(w.E, (e) => `out[${w.E} * i + ${e}] = s${e};`, " ")}
    }
    return out;`;
  return new Function("x", "y", "b", "g", "M", "N", src) as (
    ...a: unknown[]
  ) => Float64Array;
}

/** The plain K nearest neighbours: insertion into a sorted list, ties to the smaller index. */
function plainKnn(D: number) {
  const src = `
    const out = new Int32Array(M * K), dist = new Float64Array(K), idx = new Int32Array(K);
    for (let i = 0; i < M; i++) {
      dist.fill(Infinity); idx.fill(0);
      ${loadX(D)}
      for (let j = 0; j < N; j++) {
        ${sqdist(D)}
        if (!(r2 < dist[K - 1])) continue;
        let p = K - 1;
        while (p > 0 && r2 < dist[p - 1]) { dist[p] = dist[p - 1]; idx[p] = idx[p - 1]; p--; }
        dist[p] = r2; idx[p] = j;
      }
      out.set(idx, i * K);
    }
    return out;`;
  return new Function("x", "y", "M", "N", "K", src) as (
    ...a: unknown[]
  ) => Int32Array;
}

/** The plain nearest neighbour (ArgMin of the squared distance). */
function plainArgMin(D: number) {
  const src = `
    const out = new Int32Array(M);
    for (let i = 0; i < M; i++) {
      ${loadX(D)}
      let best = Infinity, at = 0;
      for (let j = 0; j < N; j++) {
        ${sqdist(D)}
        if (r2 < best) { best = r2; at = j; }
      }
      out[i] = at;
    }
    return out;`;
  return new Function("x", "y", "M", "N", src) as (
    ...a: unknown[]
  ) => Int32Array;
}

/**
 * The plain Sinkhorn step, log Σ_j exp(h_j − |x_i − y_j|²·eps), with a running maximum and one
 * exponential per term (softmax = true: Σ e^(F−m) b_j / Σ e^(F−m)).
 */
function plainLse(D: number, softmax: boolean) {
  const src = `
    const out = new Float64Array(M);
    for (let i = 0; i < M; i++) {
      ${loadX(D)}
      let m = -Infinity, s = 0, t = 0;
      for (let j = 0; j < N; j++) {
        ${sqdist(D)}
        const f = h[j] - r2 * eps;
        if (f > m) { const c = Math.exp(m - f); s = s * c + 1; t = t * c + b[j]; m = f; }
        else { const c = Math.exp(f - m); s += c; t += c * b[j]; }
      }
      out[i] = ${softmax ? "t / s" : "m + Math.log(s)"};
    }
    return out;`;
  return new Function("x", "y", "h", "b", "eps", "M", "N", src) as (
    ...a: unknown[]
  ) => Float64Array;
}

/**
 * The plain gradient of Σ_i e_i Σ_j exp(−g|x_i − y_j|²) b_j in x (rows i) or in y (rows j):
 * ∓2g (x_i − y_j) exp(−g|x_i − y_j|²) b_j e_i, summed over the other index.
 */
function plainGrad(D: number, inY: boolean) {
  const [p, q, P, Q] = inY ? ["y", "x", "N", "M"] : ["x", "y", "M", "N"];
  const src = `
    const out = new Float64Array(${P} * ${D});
    for (let a = 0; a < ${P}; a++) {
      ${terms(D, (c) => `const p${c} = ${p}[${D} * a + ${c}];`, " ")}
      ${terms(D, (c) => `let s${c} = 0;`, " ")}
      for (let o = 0; o < ${Q}; o++) {
        ${terms(D, (c) => `const d${c} = p${c} - ${q}[${D} * o + ${c}];`, " ")}
        const r2 = ${terms(D, (c) => `d${c} * d${c}`)};
        const k = -2 * g * Math.exp(-g * r2) * ${inY ? "b[a] * e[o]" : "b[o] * e[a]"};
        ${terms(D, (c) => `s${c} += k * d${c};`, " ")}
      }
      ${terms(D, (c) => `out[${D} * a + ${c}] = s${c};`, " ")}
    }
    return out;`;
  return new Function("x", "y", "b", "e", "g", "M", "N", src) as (
    ...a: unknown[]
  ) => Float64Array;
}

interface Workload {
  name: string;
  plain: () => unknown;
  engine: (backend: "cpu" | "cpu-rust") => Promise<unknown>;
}

const arr = (data: Float32Array | Float64Array, cols: number) => ndarray(data, [data.length / cols, cols]);
const G = 0.5, EPS = 0.5;
const gArr = arr(Float32Array.of(G), 1);
const castG = DTYPE === "float64" ? arr(Float64Array.of(G), 1) : gArr;

const workloads: Workload[] = [];
for (const w of SUMS) {
  const X = fill(M * w.D), Y = fill(N * w.D), B = fill(N * w.E);
  const usesG = w.formula.includes("g*");
  const aliases = [
    `x = Vi(${w.D})`,
    `y = Vj(${w.D})`,
    `b = Vj(${w.E})`,
    ...(usesG ? ["g = Pm(1)"] : []),
  ];
  const routine = Genred(w.formula, aliases, { axis: 1 });
  const inputs = [
    arr(X, w.D),
    arr(Y, w.D),
    arr(B, w.E),
    ...(usesG ? [castG] : []),
  ];
  const plain = plainSum(w);
  workloads.push({
    name: `${w.name} \`${w.formula}\`, D = ${w.D}, b of dim ${w.E}`,
    plain: () => plain(X, Y, B, G, M, N),
    engine: (backend) => routine(...inputs, { backend }),
  });
}
for (const D of [3, 64]) {
  const X = fill(M * D), Y = fill(N * D);
  const routine = Genred("SqDist(x,y)", [`x = Vi(${D})`, `y = Vj(${D})`], {
    reduction: "ArgKMin",
    k: 10,
    axis: 1,
  });
  const plain = plainKnn(D);
  workloads.push({
    name: `kNN: ArgKMin K = 10 of \`SqDist(x,y)\`, D = ${D}`,
    plain: () => plain(X, Y, M, N, 10),
    engine: (backend) => routine(arr(X, D), arr(Y, D), { backend }),
  });
}
{
  const X = fill(M * 2), Y = fill(N * 2);
  const routine = Genred("SqDist(x,y)", ["x = Vi(2)", "y = Vj(2)"], {
    reduction: "ArgMin",
    axis: 1,
  });
  const plain = plainArgMin(2);
  workloads.push({
    name: "nearest neighbour: ArgMin of `SqDist(x,y)`, D = 2",
    plain: () => plain(X, Y, M, N),
    engine: (backend) => routine(arr(X, 2), arr(Y, 2), { backend }),
  });
}
for (const softmax of [false, true]) {
  const X = fill(M * 2), Y = fill(N * 2), H = fill(N), B = fill(N);
  const aliases = [
    "x = Vi(2)",
    "y = Vj(2)",
    "h = Vj(1)",
    "e = Pm(1)",
    "b = Vj(1)",
  ];
  const routine = softmax
    ? Genred("h - SqDist(x,y)*e", aliases, {
      reduction: "SumSoftMaxWeight",
      formula2: "b",
      axis: 1,
    })
    : Genred("h - SqDist(x,y)*e", aliases.slice(0, 4), {
      reduction: "LogSumExp",
      axis: 1,
    });
  const e = DTYPE === "float64" ? arr(Float64Array.of(EPS), 1) : arr(Float32Array.of(EPS), 1);
  const plain = plainLse(2, softmax);
  workloads.push({
    name: softmax
      ? "SumSoftMaxWeight of `h - SqDist(x,y)*e`, weight b, D = 2"
      : "LogSumExp of `h - SqDist(x,y)*e` (a Sinkhorn step), D = 2",
    plain: () => plain(X, Y, H, B, EPS, M, N),
    engine: (backend) =>
      softmax
        ? routine(arr(X, 2), arr(Y, 2), arr(H, 1), e, arr(B, 1), { backend })
        : routine(arr(X, 2), arr(Y, 2), arr(H, 1), e, { backend }),
  });
}
for (const v of ["x", "y"]) {
  const D = 3, X = fill(M * D), Y = fill(N * D), B = fill(N), E = fill(M);
  const sum = Genred("Exp(-g*SqDist(x,y))*b", [
    "x = Vi(3)",
    "y = Vj(3)",
    "b = Vj(1)",
    "g = Pm(1)",
  ], {
    axis: 1,
  });
  const grad: GenredRoutine<NDArray> = sum.grad(v);
  const plain = plainGrad(D, v === "y");
  workloads.push({
    name: `gradient of the Gaussian sum (bandwidth g) in ${v}, D = 3`,
    plain: () => plain(X, Y, B, E, G, M, N),
    engine: (backend) => grad(arr(X, D), arr(Y, D), arr(B, 1), castG, arr(E, 1), { backend }),
  });
}

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
async function time(f: () => unknown): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

// ---- first calls: a new plan at M = N = 100 (parse, lower, generate, compile, run) --------------
if (!ONLY) {
  setThreads(1);
  console.log(
    "First calls of new plans at M = N = 100 (one thread; the first row is this process's first call):",
  );
  console.log("| formula | first call | cached call |");
  console.log("|---|---|---|");
  const x = arr(fill(300), 3), y = arr(fill(300), 3), b = arr(fill(100), 1);
  for (const [k, [name, formula]] of KERNELS.entries()) {
    // A fresh constant per run, so that no plan of an earlier run is in the cache.
    const f = `${formula}*b + IntCst(${k + 1000 + Math.floor(rand() * 1e6)})`;
    const aliases = [
      "x = Vi(3)",
      "y = Vj(3)",
      "b = Vj(1)",
      ...(formula.includes("g*") ? ["g = Pm(1)"] : []),
    ];
    const inputs = [x, y, b, ...(formula.includes("g*") ? [castG] : [])];
    const routine = Genred(f, aliases, { axis: 1 });
    const first = await time(() => routine(...inputs, { backend: "cpu" }));
    const again: number[] = [];
    for (let r = 0; r < 5; r++) {
      again.push(await time(() => routine(...inputs, { backend: "cpu" })));
    }
    console.log(
      `| ${name} | ${first.toFixed(1)} ms | ${median(again).toFixed(2)} ms |`,
    );
  }
  console.log("");
}
console.log(
  `M = N = ${M}, ${DTYPE}, ${ALL} threads, ${ROUNDS} rounds; ${Deno.build.os} ${Deno.build.arch}, Deno ${Deno.version.deno}`,
);
console.log(
  "| workload | plain loop M pairs/s | cpu 1 thread | cpu-rust 1 thread | cpu all threads | cpu-rust all threads | " +
    "cpu all / 1 thread |",
);
console.log("|---|---|---|---|---|---|---|");
const mp = (ms: number) => ((M * N) / ms / 1e3).toFixed(0);
for (const w of workloads) {
  if (ONLY && !w.name.includes(ONLY)) continue;
  // Every contender in every round, one thread then all threads: interleaved, so that the
  // machine's moods (it is shared) fall on all of them alike.
  const t: Record<string, number[]> = {
    plain: [],
    cpu1: [],
    rust1: [],
    cpuN: [],
    rustN: [],
  };
  const both = async () => {
    await w.engine("cpu");
    await w.engine("cpu-rust");
  };
  // Warm-up: the first calls of a module run before the engine's optimising tier is ready.
  for (const threads of ALL > 1 ? [1, ALL] : [1]) {
    setThreads(threads);
    for (let k = 0; k < 3; k++) await both();
  }
  w.plain();
  for (let r = 0; r < ROUNDS; r++) {
    setThreads(1);
    t.plain.push(await time(w.plain));
    t.cpu1.push(await time(() => w.engine("cpu")));
    t.rust1.push(await time(() => w.engine("cpu-rust")));
    if (ALL > 1) {
      setThreads(ALL);
      await both(); // the workers may have stopped while the plain loop ran
      t.cpuN.push(await time(() => w.engine("cpu")));
      t.rustN.push(await time(() => w.engine("cpu-rust")));
    }
  }
  const p = median(t.plain);
  const cell = (k: string) => {
    if (!t[k].length) return "–";
    const m = median(t[k]);
    return `${mp(m)}, **${(p / m).toFixed(1)}×**`;
  };
  const scaling = ALL > 1 ? `**${(median(t.cpu1) / median(t.cpuN)).toFixed(2)}×**` : "–";
  console.log(
    `| ${w.name} | ${mp(p)} | ${cell("cpu1")} | ${cell("rust1")} | ${cell("cpuN")} | ${
      cell("rustN")
    } | ${scaling} |`,
  );
}

// ---- the two CPU costs the targets name, interleaved in one loop ---------------------------------
if (!ONLY) {
  setThreads(1);
  console.log(
    "\nA bandwidth's cost, one thread, the two formulas timed alternately (D = 3, b of dim 1):",
  );
  const X = fill(M * 3), Y = fill(N * 3), B = fill(N);
  const unit = Genred("Exp(-SqDist(x,y))*b", [
    "x = Vi(3)",
    "y = Vj(3)",
    "b = Vj(1)",
  ], { axis: 1 });
  const band = Genred("Exp(-g*SqDist(x,y))*b", [
    "x = Vi(3)",
    "y = Vj(3)",
    "b = Vj(1)",
    "g = Pm(1)",
  ], {
    axis: 1,
  });
  const xyb = [arr(X, 3), arr(Y, 3), arr(B, 1)];
  for (let k = 0; k < 3; k++) {
    await Promise.all([
      unit(...xyb, { backend: "cpu" }),
      band(...xyb, castG, { backend: "cpu" }),
    ]);
  }
  const tu: number[] = [], tb: number[] = [];
  for (let r = 0; r < 3 * ROUNDS; r++) {
    tu.push(await time(() => unit(...xyb, { backend: "cpu" })));
    tb.push(await time(() => band(...xyb, castG, { backend: "cpu" })));
  }
  console.log(
    `\`Exp(-SqDist(x,y))*b\` ${median(tu).toFixed(1)} ms, \`Exp(-g*SqDist(x,y))*b\` ${
      median(tb).toFixed(1)
    } ms: ` +
      `**${(median(tb) / median(tu)).toFixed(2)}×** the time`,
  );
}

// ---- what this machine gives two copies of single-threaded code -----------------------------------
if (!ONLY && ALL > 1) {
  // The ceiling of any threading here: ALL workers each running the one-thread engine on its own
  // copy of the Gaussian sum, against one such worker alone (aggregate throughput).
  const src = `
    const { Genred, ndarray, setThreads } = await import(${
    JSON.stringify(new URL("../mod.ts", import.meta.url).href)
  });
    setThreads(1);
    const M = ${M}, N = ${N};
    const f = (n) => Float32Array.from({ length: n }, (_, k) => ((k * 7919) % 1000) / 1000);
    const g = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { axis: 1 });
    const a = [ndarray(f(M * 3), [M, 3]), ndarray(f(N * 3), [N, 3]), ndarray(f(N), [N, 1])];
    self.onmessage = async (e) => {
      for (let k = 0; k < e.data; k++) await g(...a, { backend: "cpu" });
      self.postMessage(0);
    };
    self.postMessage("ready");`;
  const workers = Array.from(
    { length: ALL },
    () =>
      new Worker("data:text/javascript," + encodeURIComponent(src), {
        type: "module",
      }),
  );
  await Promise.all(workers.map((w) => new Promise((r) => (w.onmessage = r))));
  const go = (ws: Worker[], calls: number) =>
    Promise.all(ws.map((w) =>
      new Promise((r) => {
        w.onmessage = r;
        w.postMessage(calls);
      })
    ));
  await go(workers, 5);
  const one: number[] = [], all: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    one.push(await time(() => go(workers.slice(0, 1), 5)));
    all.push(await time(() => go(workers, 5)));
  }
  workers.forEach((w) => w.terminate());
  const ratio = (ALL * median(one)) / median(all);
  console.log(
    `\nThis machine's parallel capacity: ${ALL} workers each running the one-thread engine (Gaussian sum, D = 3) ` +
      `give **${ratio.toFixed(2)}×** the throughput of one (the ceiling for "all threads" above).`,
  );
}

// ---- float64 against float32, interleaved, one thread --------------------------------------------
if (!ONLY) {
  setThreads(1);
  console.log(
    "\nfloat64 against float32 on the cpu engine (one thread, interleaved):",
  );
  console.log(
    "| workload | float32 M pairs/s | float64 M pairs/s | float64 / float32 |",
  );
  console.log("|---|---|---|---|");
  const both = (n: number) => {
    const a = Float64Array.from({ length: n }, rand);
    return [Float32Array.from(a), a] as const;
  };
  const [x32, x64] = both(M * 3),
    [y32, y64] = both(N * 3),
    [b32, b64] = both(N),
    [h32, h64] = both(N);
  const g32 = arr(Float32Array.of(G), 1), g64 = arr(Float64Array.of(G), 1);
  const cases: [
    string,
    GenredRoutine<NDArray | [NDArray, NDArray]>,
    (f64: boolean) => NDArray[],
  ][] = [
    [
      "Gaussian, bandwidth g, D = 3",
      Genred("Exp(-g*SqDist(x,y))*b", [
        "x = Vi(3)",
        "y = Vj(3)",
        "b = Vj(1)",
        "g = Pm(1)",
      ], { axis: 1 }),
      (
        f,
      ) => [
        arr(f ? x64 : x32, 3),
        arr(f ? y64 : y32, 3),
        arr(f ? b64 : b32, 1),
        f ? g64 : g32,
      ],
    ],
    [
      "Cauchy, D = 3",
      Genred("Inv(IntCst(1)+SqDist(x,y))*b", [
        "x = Vi(3)",
        "y = Vj(3)",
        "b = Vj(1)",
      ], { axis: 1 }),
      (
        f,
      ) => [
        arr(f ? x64 : x32, 3),
        arr(f ? y64 : y32, 3),
        arr(f ? b64 : b32, 1),
      ],
    ],
    [
      "kNN K = 10, D = 3",
      Genred("SqDist(x,y)", ["x = Vi(3)", "y = Vj(3)"], {
        reduction: "ArgKMin",
        k: 10,
        axis: 1,
      }),
      (f) => [arr(f ? x64 : x32, 3), arr(f ? y64 : y32, 3)],
    ],
    [
      "LogSumExp (Sinkhorn step), D = 3",
      Genred("h - SqDist(x,y)*g", [
        "x = Vi(3)",
        "y = Vj(3)",
        "h = Vj(1)",
        "g = Pm(1)",
      ], {
        reduction: "LogSumExp",
        axis: 1,
      }),
      (
        f,
      ) => [
        arr(f ? x64 : x32, 3),
        arr(f ? y64 : y32, 3),
        arr(f ? h64 : h32, 1),
        f ? g64 : g32,
      ],
    ],
  ];
  for (const [name, routine, inputs] of cases) {
    const [i32, i64] = [inputs(false), inputs(true)];
    await routine(...i32, { backend: "cpu" });
    await routine(...i64, { backend: "cpu" });
    const t32: number[] = [], t64: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      t32.push(await time(() => routine(...i32, { backend: "cpu" })));
      t64.push(await time(() => routine(...i64, { backend: "cpu" })));
    }
    const [a, b] = [median(t32), median(t64)];
    console.log(
      `| ${name} | ${mp(a)} | ${mp(b)} | **${((100 * a) / b).toFixed(0)} %** |`,
    );
  }
}

shutdownThreads();
