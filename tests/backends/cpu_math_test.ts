// The CPU engines' math functions, as they run (the compiled engine with and without relaxed
// SIMD's multiply-add, and the Rust engine), against JavaScript's Math over wide domains, ±0,
// infinities, NaN, subnormals, huge arguments and the edges of exp.
import assert from "node:assert/strict";
import { Genred, type NDArray, ndarray } from "../../mod.ts";
import { setRelaxedSimd } from "../../backends/jit/emit.ts";

type Engine = "cpu" | "cpu-fma-off" | "cpu-rust";
const ENGINES: Engine[] = ["cpu", "cpu-fma-off", "cpu-rust"];
let engine: Engine = "cpu";

const SPECIAL = [0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1e-300, 3.4e38, -3.4e38];

/** Distance in units in the last place of the dtype. */
function ulps(a: number, b: number, f32: boolean): number {
  if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Infinity;
  const eps = f32 ? 2 ** -23 : 2 ** -52;
  const tiny = f32 ? 2 ** -149 : 2 ** -1074;
  return Math.abs(a - b) / Math.max(eps * Math.abs(b), tiny);
}

async function check(formula: string, f: (x: number) => number, xs: number[], maxUlps: number, f32: boolean) {
  const data = f32 ? Float32Array.from(xs) : Float64Array.from(xs);
  const old = setRelaxedSimd(engine === "cpu-fma-off" ? false : undefined);
  let out: NDArray;
  try {
    out = (await Genred(formula, ["x = Vi(1)"], { axis: 1 })(ndarray(data, [xs.length, 1]), {
      backend: engine === "cpu-rust" ? "cpu-rust" : "cpu",
    })) as NDArray;
  } finally {
    setRelaxedSimd(old);
  }
  let worst = 0, at = 0;
  for (let k = 0; k < xs.length; k++) {
    const want = f32 ? Math.fround(f(data[k])) : f(data[k]);
    const e = ulps(out.data[k], want, f32);
    if (e > worst) [worst, at] = [e, k];
  }
  assert.ok(
    worst <= maxUlps,
    `${formula} (${f32 ? "f32" : "f64"}): ${worst.toFixed(1)} ulps at x = ${data[at]}: ${out.data[at]} vs ${
      f(data[at])
    }`,
  );
}

const grid = (lo: number, hi: number, n: number) =>
  Array.from({ length: n + 1 }, (_, k) => lo + ((hi - lo) * k) / n);

for (const [f32, name] of ENGINES.flatMap((n) => [[true, n], [false, n]] as const)) {
  const tag = f32 ? "float32" : "float64";
  Deno.test(`[${name}] exp in ${tag} over its whole domain, edges included`, async () => {
    engine = name;
    const edges = f32
      ? [88.72, 88.7228, 88.73, -87.33, -87.34, -103.97, -103.98, -110, 89]
      : [709.78, 709.79, -745.13, -745.14, -708.4];
    await check(
      "Exp(x)",
      Math.exp,
      [...grid(f32 ? -110 : -750, f32 ? 90 : 712, 100_000), ...edges, ...SPECIAL],
      f32 ? 2 : 4,
      f32,
    );
  });
  Deno.test(`[${name}] log, sin, cos, atan, asin, acos, sqrt, powers in ${tag}`, async () => {
    engine = name;
    const pos = [...Array.from({ length: 20_000 }, (_, k) => 10 ** (-40 + (80 * k) / 20_000)), ...SPECIAL];
    await check("Log(x)", Math.log, pos, 2, f32);
    await check("Sqrt(x)", Math.sqrt, pos, 1, f32);
    // sin and cos: absolute accuracy near multiples of π is what range reduction gives; compare
    // in ulps of 1 there, by adding 2 to both sides.
    await check("Sin(x) + 2", (x) => Math.sin(x) + 2, [...grid(-1000, 1000, 50_000), ...SPECIAL], 2, f32);
    await check("Cos(x) + 2", (x) => Math.cos(x) + 2, [...grid(-1000, 1000, 50_000), ...SPECIAL], 2, f32);
    await check("Sin(x)", Math.sin, grid(-3, 3, 10_000), 2, f32);
    await check("Atan(x)", Math.atan, [...grid(-100, 100, 50_000), ...SPECIAL], 2, f32);
    await check("Asin(x)", Math.asin, [...grid(-1, 1, 20_000), 1.5, ...SPECIAL], 4, f32);
    await check("Acos(x)", Math.acos, [...grid(-1, 1, 20_000), -1.5, ...SPECIAL], 4, f32);
    // Huge angles (past the float32 vector reduction's 8192: the host's exact Math.sin/cos), in
    // ulps of 1; the Rust engine's float64 reduction reaches 4 ulps just below its 2²⁰.
    const huge = [...grid(-1e7, 1e7, 20_001), 8191.9, 8192.1, -8192.1, 3e38];
    await check("Sin(x) + 2", (x) => Math.sin(x) + 2, huge, f32 ? 2 : 6, f32);
    await check("Cos(x) + 2", (x) => Math.cos(x) + 2, huge, f32 ? 2 : 6, f32);
    // The Rust engine's float64 pow is e^(y·log x), whose error grows with |y·log x| (noted in
    // its math.rs); the compiled engine calls the host's Math.pow.
    await check(
      "Powf(x, IntCst(3)/IntCst(2))",
      (x) => Math.pow(x, 1.5),
      pos,
      engine === "cpu-rust" && !f32 ? 128 : 2,
      f32,
    );
    const powTol = engine === "cpu-rust" && !f32 ? 256 : 2;
    await check(
      "Powf(IntCst(3), x)",
      (x) => Math.pow(3, x),
      [...grid(-90, 90, 20_000), ...SPECIAL],
      powTol,
      f32,
    );
    // The exponent is a constant of the formula, rounded to the dtype like every value.
    const e73 = f32 ? Math.fround(-7 / 3) : -7 / 3;
    await check("Powf(x, RatCst(-7,3))", (x) => Math.pow(x, e73), [...pos, -2, -0.5], powTol, f32);
    await check(
      "Atan2(x, IntCst(-3))",
      (x) => Math.atan2(x, -3),
      [...grid(-100, 100, 20_000), ...SPECIAL],
      3,
      f32,
    );
    await check(
      "Atan2(IntCst(2), x)",
      (x) => Math.atan2(2, x),
      [...grid(-100, 100, 20_000), ...SPECIAL],
      3,
      f32,
    );
    await check("Pow(x, 3)", (x) => x * x * x, grid(-50, 50, 10_000), 2, f32);
    await check("Pow(x, -2)", (x) => 1 / (x * x), grid(-50, 50, 10_001), 3, f32);
  });
}

Deno.test("float32 Gaussian kernel e^(−s): within (1.25·s + 3)·2⁻²⁴ of e^(−s), like KeOps's fast-math __expf", async () => {
  // The fused Gaussian rounds t = −s·log₂e once (KeOps's default CUDA build does the same with
  // __expf): the relative error grows like s·2⁻²⁴, below what the float32 squared distance
  // itself carries. Rows of N = 19 equal pairs (four whole groups and a tail of three); a one-hot
  // weight picks a pair in the groups, then one in the tail, so the sum is that pair's value.
  const ss = [
    ...grid(0, 2, 400),
    ...grid(2, 90, 880),
    ...[86.99, 87, 87.01, 95, 100, 103.9, 104, 110, 1e3, 3e38],
  ];
  // D = 2 (x = (√s, 0), y = 0): in D = 1 SqDist lowers to a Square and takes the general path.
  const x = Float32Array.from(ss.flatMap((s) => [Math.sqrt(s), 0]));
  const N = 19, y = new Float32Array(2 * N);
  const g = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], { axis: 1 });
  for (const hot of [5, 17]) {
    const b = new Float32Array(N);
    b[hot] = 1;
    const out = (await g(ndarray(x, [ss.length, 2]), ndarray(y, [N, 2]), ndarray(b, [N, 1]), {
      backend: "cpu",
    })) as NDArray;
    for (let k = 0; k < ss.length; k++) {
      const s = Math.fround(x[2 * k] * x[2 * k]), want = Math.exp(-s);
      const tol = want * (1.25 * s + 3) * 2 ** -24 + 2 ** -149;
      assert.ok(Math.abs(out.data[k] - want) <= tol, `s = ${s}, pair ${hot}: ${out.data[k]} vs ${want}`);
    }
  }
  // NaN and infinite distances, and a row whose groups straddle the fast range.
  const odd = (await g(
    ndarray(Float32Array.of(NaN, 0, Infinity, 0), [2, 2]),
    ndarray(y, [N, 2]),
    ndarray(new Float32Array(N).fill(1), [N, 1]),
    { backend: "cpu" },
  )) as NDArray;
  assert.ok(Number.isNaN(odd.data[0]));
  assert.equal(odd.data[1], 0);
  const yy = Float32Array.from({ length: 128 }, (_, k) => k % 2 ? 0 : (k / 2) * 0.2);
  const mixed = (await g(
    ndarray(Float32Array.of(0.1, 0), [1, 2]),
    ndarray(yy, [64, 2]),
    ndarray(new Float32Array(64).fill(1), [64, 1]),
    { backend: "cpu" },
  )) as NDArray;
  const want = Array.from({ length: 64 }, (_, j) => yy[2 * j])
    .reduce((a, v) => a + Math.exp(-Math.fround(Math.fround(0.1 - v) ** 2)), 0);
  assert.ok(Math.abs(mixed.data[0] - want) <= 1e-6 * want, `${mixed.data[0]} vs ${want}`);
});

Deno.test("a pair's e^(-s) does not depend on the other pairs of its group of lanes", async () => {
  // Term 0 carries weight 1 and its neighbours weight 0, so the sum is e^(-s_0) alone; the
  // neighbours are near (the group takes the fast path) or far (s ≥ 87 sends it the slow way).
  const sum = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], { axis: 1 });
  const xs = Array.from({ length: 64 }, (_, k) => [0.05 + k * 0.137, 0.3]);
  const x = ndarray(Float32Array.from(xs.flat()), [xs.length, 2]);
  const b = ndarray(Float32Array.of(1, 0, 0, 0), [4, 1]);
  const y = (far: number) => ndarray(Float32Array.of(0, 0, far, 0, far, 1, far, 2), [4, 2]);
  const near = (await sum(x, y(0.5), b, { backend: "cpu" })) as NDArray;
  const farOut = (await sum(x, y(40), b, { backend: "cpu" })) as NDArray;
  assert.deepEqual(Array.from(farOut.data), Array.from(near.data));
});
