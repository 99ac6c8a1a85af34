/**
 * The accuracy options of sums on every engine, on a sum whose float32 direct sum visibly loses
 * digits: 4,206,649 float32 terms near 1.2 (a running float32 total has an ulp of 0.5 there).
 * Prints each engine's relative error against the exact sum of the float32 terms (computed in
 * float64), for sum_scheme "auto" (block sums), "direct_sum", "kahan_scheme" and
 * dtype_acc "float64". The result itself is float32: 2.4e-8 is its own rounding.
 *
 *     deno run -A bench/accuracy.ts
 *
 * @module
 */

import { Genred, ndarray } from "../mod.ts";

const N = (1 << 22) + 12345;
let seed = 8;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const b = Float32Array.from({ length: N }, () => 1.2 + 0.01 * (rand() - 0.5));
let exact = 0;
for (const v of b) exact += v;
const B = ndarray(b, [N, 1]);
const gpu = !!(await navigator.gpu?.requestAdapter());
for (
  const backend of gpu ? ["cpu", "cpu-rust", "gpu"] as const : ["cpu", "cpu-rust"] as const
) {
  const row: string[] = [];
  for (
    const [name, o] of [
      ["auto", {}],
      ["direct_sum", { sum_scheme: "direct_sum" }],
      ["kahan_scheme", { sum_scheme: "kahan_scheme" }],
      ["dtype_acc float64", { dtype_acc: "float64" }],
    ] as const
  ) {
    const s = (await Genred("b", ["b = Vj(1)"], { axis: 1, ...o })(B, { backend }))
      .data[0];
    row.push(`${name} ${(Math.abs(s - exact) / exact).toExponential(1)}`);
  }
  console.log(`${backend}: ${row.join(", ")}`);
}
