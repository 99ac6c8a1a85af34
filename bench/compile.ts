/**
 * `deno task bench:compile`: how long a formula takes to compile, by size. Sums of Gaussian
 * terms with their own bandwidths, `Σ_k Exp(-SqDist(x,y)*k)*b`, of about 100, 1,000 and 10,000
 * nodes; each stage timed on its own (parse, lower, the gradient in x, the CPU engine's program,
 * the WGSL source), then a whole first call of the forward and of the gradient routine on the
 * CPU engine at M = N = 1 (validation, routine, compilation and the run). Medians of 5, after
 * a warm-up; no GPU is needed (the driver's own compilation of the WGSL is not ours to time).
 *
 * @module
 */

import { Genred, ndarray } from "../mod.ts";
import { parseFormula, type VarSpec } from "../formula/parse.ts";
import { lower, vjp } from "../formula/grad.ts";
import { make } from "../formula/ops.ts";
import { keyOf, type Node } from "../formula/tree.ts";
import { REDUCTIONS } from "../formula/reductions.ts";
import { compile } from "../backends/wasm/compile.ts";
import { generate } from "../backends/webgpu/codegen.ts";

const aliases = ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"];
const scope = new Map<string, VarSpec>([
  ["x", { ind: 0, dim: 3, cat: 0 }],
  ["y", { ind: 1, dim: 3, cat: 1 }],
  ["b", { ind: 2, dim: 1, cat: 1 }],
]);

/** The formula of `terms` Gaussian terms. */
const formula = (terms: number) =>
  Array.from(
    { length: terms },
    (_, k) => `Exp(-SqDist(x,y)*IntCst(${k + 1}))*b`,
  ).join(" + ");

/** Nodes of the tree as written (a sub-formula counted each time it appears). */
function treeSize(n: Node): number {
  let size = 0;
  const stack = [n];
  while (stack.length) {
    const m = stack.pop()!;
    size++;
    stack.push(...m.args);
  }
  return size;
}

/** Distinct nodes (a shared sub-formula counted once): what a gradient is made of. */
function distinct(n: Node): number {
  const seen = new Set<string>();
  const stack = [n];
  while (stack.length) {
    const m = stack.pop()!;
    if (seen.has(keyOf(m))) continue;
    seen.add(keyOf(m));
    stack.push(...m.args);
  }
  return seen.size;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(f: () => unknown, runs = 5): Promise<number> {
  await f(); // warm-up
  const ts: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const one = (d: number) => ndarray(Float32Array.from({ length: d }, (_, k) => 0.1 * (k + 1)), [1, d]);
const e = make("Var", [], [3, 1, 0]);
const x = make("Var", [], [0, 3, 0]);
const rows: string[][] = [];
let fresh = 1000;
for (const terms of [9, 91, 909]) {
  const text = formula(terms);
  const tree = parseFormula(text, scope);
  const lowered = lower(tree);
  const grad = lower(vjp(lowered, x, e));
  const plan = {
    reduction: REDUCTIONS.Sum,
    dims: { D: 1, K: 0, Dw: 1 },
    formulas: [lowered],
    dtype: "float32" as const,
  };
  // Fresh trees for every timed run of the stages that cache per node (lower, the engines).
  const t = {
    parse: await time(() => parseFormula(text, scope)),
    lower: await time(() => lower(parseFormula(text, scope))),
    grad: await time(() => lower(vjp(lower(parseFormula(text, scope)), x, e))),
    wasm: await time(() => compile([lower(parseFormula(text, scope))])),
    wgsl: await time(() =>
      generate({ ...plan, formulas: [lower(parseFormula(text, scope))] }, {
        workgroupSize: 64,
        tile: 64,
        rows: 1,
      })
    ),
    // A new constant term per call: compiled plans are cached by formula, and these are firsts.
    call: await time(() =>
      Genred(`${text} + IntCst(${++fresh})`, aliases, { axis: 1 })(
        one(3),
        one(3),
        one(1),
        { backend: "cpu" },
      )
    ),
    gradCall: await time(() =>
      Genred(`${text} + IntCst(${++fresh})*SqNorm2(x)`, aliases, { axis: 1 })
        .grad("x")(
          one(3),
          one(3),
          one(1),
          one(1),
          { backend: "cpu" },
        )
    ),
  };
  rows.push([
    String(treeSize(tree)),
    String(distinct(grad)),
    ...[t.parse, t.lower, t.grad, t.wasm, t.wgsl, t.call, t.gradCall].map((v) => v.toFixed(1)),
  ]);
}

console.log(
  "Compile time by formula size (ms, medians of 5; nodes of the formula as written, distinct nodes of its x-gradient)\n",
);
console.log(
  "| nodes | gradient nodes (distinct) | parse | + lower | + gradient | + CPU program | + WGSL | first CPU call | first CPU gradient call |",
);
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
console.log(
  "\nStages after parse include parsing (each starts from the text); the last two columns are whole calls at M = N = 1.",
);
