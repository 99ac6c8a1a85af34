/**
 * Peak memory of a Gaussian kernel sum, to show it stays linear in M + N:
 * `deno run -A bench/memory.ts [M] [backend] [N]` (default M = N = 20000 on "reference"; the
 * CPU figure is `deno run -A bench/memory.ts 200000 cpu`, and `10000000 cpu 1000` streams ten
 * million rows). The peak resident set size is read from /proc/self/status (VmHWM), so this
 * runs on Linux.
 *
 * @module
 */

import { Genred, ndarray } from "../mod.ts";

async function peakRssMB(): Promise<number> {
  const status = await Deno.readTextFile("/proc/self/status");
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
  return kb / 1024;
}

const M = Number(Deno.args[0] ?? 20000), N = Number(Deno.args[2] ?? M);
const backend = (Deno.args[1] ?? "reference") as "reference" | "cpu";
let seed = 1;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const x = ndarray(Float32Array.from({ length: M * 3 }, rand), [M, 3]);
const y = ndarray(Float32Array.from({ length: N * 3 }, rand), [N, 3]);
const b = ndarray(Float32Array.from({ length: N }, rand), [N, 1]);
const g = Genred(
  "Exp(-SqDist(x,y))*b",
  ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"],
  { axis: 1 },
);
const before = await peakRssMB();
const t0 = performance.now();
const out = await g(x, y, b, { backend });
const seconds = (performance.now() - t0) / 1000;
const after = await peakRssMB();
console.log(
  `${backend}, M = ${M}, N = ${N}: output (${out.shape}), ${seconds.toFixed(1)} s; peak RSS ${
    before.toFixed(0)
  } MB before the call, ` +
    `${after.toFixed(0)} MB after (one M×N float32 matrix alone would be ${
      (M * N * 4 / 2 ** 20).toFixed(0)
    } MB)`,
);
