// The differential fuzzer, seeded and bounded (`deno task fuzz` runs it for longer): generated
// formulas on every engine against the reference, and bad inputs, must find nothing.
import assert from "node:assert/strict";
import { UnsupportedError } from "../../mod.ts";
import { lower } from "../../formula/grad.ts";
import type { Node } from "../../formula/tree.ts";
import { GPU } from "../_backends.ts";
import { FUZZED_OPS, randomCase } from "./_gen.ts";
import { unclean } from "./_check.ts";
import { fuzz } from "./_fuzz.ts";

Deno.test("the generator draws every operation of the table (directly, or inside a derived one)", () => {
  const seen = new Set<string>();
  const walk = (n: Node) => {
    seen.add(n.op);
    n.args.forEach(walk);
  };
  for (let s = 0; s < 2000; s++) {
    const c = randomCase(s);
    for (const f of c.W ? [c.F, c.W] : [c.F]) {
      walk(f);
      try {
        walk(lower(f));
      } catch { /* a differential operator of a formula it cannot differentiate: refused later */ }
    }
  }
  assert.deepEqual(FUZZED_OPS.filter((op) => !seen.has(op)), []);
});

Deno.test("the judge tells library errors from JavaScript's own", () => {
  assert.equal(unclean(new RangeError("K = 5 is larger than the number of terms")), undefined);
  assert.equal(unclean(new UnsupportedError('Float64 is not supported: use backend "cpu"')), undefined);
  assert.match(unclean(new TypeError("Cannot read properties of undefined (reading 'dim')"))!, /internal/);
  assert.match(unclean(new Error("The shader was rejected"))!, /threw Error/);
  assert.match(unclean(new TypeError("expected a number"))!, /sentence case/);
  assert.match(unclean("a string")!, /non-Error/);
});

Deno.test(`fuzz: 300 formulas on cpu (float32, float64)${GPU ? " and gpu" : ""}, 900 bad inputs`, async () => {
  const report = await fuzz({ seed: 20261201, seconds: 240, count: 300, gpu: GPU, maxSize: 120 });
  assert.equal(report.formulas, 300, report.summary);
  assert.equal(report.failures, 0, `${report.summary}\n\n${report.reproducers.join("\n\n")}`);
  assert.ok(report.compared > 10000, report.summary);
});
