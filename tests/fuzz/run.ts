/**
 * `deno task fuzz [--seconds N] [--count N] [--seed S] [--no-gpu]`: the differential fuzzer
 * for humans. Generates formulas from seed S on (default: a random one), runs each on the
 * reference and every engine ("cpu" in float32 and float64, "gpu" where there is an adapter,
 * with GPU-resident arrays for one case in three), then mutated formulas and arguments, until
 * the time or the count runs out; prints a summary and, for each failure, a minimal
 * reproducer. Exits 1 when anything was found.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fuzz } from "./_fuzz.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "60" },
    count: { type: "string" },
    seed: { type: "string" },
    "no-gpu": { type: "boolean", default: false },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const adapter = values["no-gpu"] ? null : await navigator.gpu?.requestAdapter();
const report = await fuzz({
  seed,
  seconds: Number(values.seconds),
  count: values.count !== undefined ? Number(values.count) : Infinity,
  gpu: !!adapter,
  log: (line) => console.log(line),
});
console.log(report.summary);
for (const r of report.reproducers) console.log("\n" + r);
Deno.exit(report.failures > 0 ? 1 : 0);
