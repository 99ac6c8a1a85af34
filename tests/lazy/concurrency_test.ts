// Concurrency as a property: any number of calls of any formulas in flight at once on one
// engine each return what they return alone (run one after another first, then all together).
import assert from "node:assert/strict";
import { Genred, type GenredRoutine, type NDArray, ndarray } from "../../mod.ts";
import { rng } from "../_helpers.ts";
import { BACKENDS } from "../_backends.ts";
import { randomRanges, type Ranges6 } from "../_ranges.ts";

type Job = { routine: GenredRoutine; args: NDArray[]; opts?: { ranges?: Ranges6 } };

/** Small and large calls of different formulas, reductions, batches and gradients. */
function jobs(seed: number, count: number, big: boolean): Job[] {
  const r = rng(seed);
  const arr = (shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return ndarray(Float32Array.from({ length: n }, () => 2 * r() - 1), shape);
  };
  const kinds: ((M: number, N: number) => Job)[] = [
    (M, N) => ({
      routine: Genred("x*y", ["x = Vi(1)", "y = Vj(1)"], { axis: 1 }),
      args: [arr([M, 1]), arr([N, 1])],
    }),
    (M, N) => ({
      routine: Genred("x+y", ["x = Vi(1)", "y = Vj(1)"], { axis: 1 }),
      args: [arr([M, 1]), arr([N, 1])],
    }),
    (M, N) => ({
      routine: Genred("SqDist(x,y)", ["x = Vi(2)", "y = Vj(2)"], { reduction: "ArgMin", axis: 1 }),
      args: [arr([M, 2]), arr([N, 2])],
    }),
    (M, N) => ({
      routine: Genred("Exp(-SqDist(x,y))*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(2)"], { axis: 1 }),
      args: [arr([2, M, 3]), arr([2, N, 3]), arr([2, N, 2])],
    }),
    (M, N) => ({
      routine: Genred("SqDist(x,y)", ["x = Vi(3)", "y = Vj(3)"], { reduction: "ArgKMin", k: 3, axis: 1 }),
      args: [arr([M, 3]), arr([N + 3, 3])],
    }),
    (M, N) => ({
      routine: Genred("-SqDist(x,y)", ["x = Vi(1)", "y = Vj(1)", "b = Vj(1)"], {
        reduction: "LogSumExpWeight",
        formula2: "b",
        axis: 1,
      }),
      args: [arr([M, 1]), arr([N, 1]), arr([N, 1])],
    }),
    (M, N) => ({
      routine: Genred("Exp(-SqDist(x,y))*b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], { axis: 1 }).grad("x"),
      args: [arr([M, 2]), arr([N, 2]), arr([N, 1]), arr([M, 1])],
    }),
    // Block-sparse, and compensated sums.
    (M, N) => ({
      routine: Genred("SqDist(x,y)", ["x = Vi(2)", "y = Vj(2)"], { reduction: "Min_ArgMin", axis: 1 }),
      args: [arr([M, 2]), arr([N, 2])],
      opts: { ranges: randomRanges(r, M, N).ranges },
    }),
    (M, N) => ({
      routine: Genred("Exp(-SqDist(x,y))*b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], {
        axis: 1,
        sum_scheme: "kahan_scheme",
      }),
      args: [arr([M, 2]), arr([N, 2]), arr([N, 1])],
      opts: { ranges: randomRanges(r, M, N).ranges },
    }),
  ];
  return Array.from({ length: count }, (_, k) => {
    // Every 25th call is large enough for the CPU engine's threads (over 2^20 pairs).
    const large = big && k % 25 === 7;
    const M = large ? 1100 : 1 + Math.floor(r() * 40), N = large ? 1000 : 1 + Math.floor(r() * 40);
    return kinds[k % kinds.length](M, N);
  });
}

const flat = (o: NDArray | [NDArray, NDArray]) =>
  (Array.isArray(o) ? o : [o]).map((a) => Array.from(a.data as ArrayLike<number>));

for (const backend of BACKENDS) {
  Deno.test(`${backend}: 300 mixed calls in flight at once each return their result alone`, async () => {
    // The reference (slow, and synchronous) takes the small calls only.
    const list = jobs(9, 300, backend !== "reference");
    const alone: number[][][] = [];
    for (const j of list) alone.push(flat(await j.routine(...j.args, { backend, ...j.opts })));
    const together = await Promise.all(list.map((j) => j.routine(...j.args, { backend, ...j.opts })));
    together.forEach((o, k) => assert.deepEqual(flat(o), alone[k], `call ${k}`));
  });
}
