// routine.grad(v) for every differentiable reduction, on i-, j- and parameter variables and on
// both axes, against central finite differences in float64; second order; batches.
import assert from "node:assert/strict";
import { Genred, type GenredOptions, type GenredRoutine, type NDArray, ndarray } from "../../mod.ts";
import { assertClose, assertThrowsClass, rng, uniform } from "../_helpers.ts";

const ALIASES = ["x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "p = Pm(1)"];
const NAMES = ["x", "y", "b", "p"];

function inputs(seed: number, M = 4, N = 5, batch: number[] = []): NDArray[] {
  const r = rng(seed);
  const shapes = [[...batch, M, 3], [...batch, N, 3], [...batch, N, 2], [1]];
  return shapes.map((s) =>
    ndarray(
      uniform(r, s.reduce((a, b) => a * b, 1), -1, 1).map((v, k) => (k === 0 && s.length === 1 ? 0.7 : v)),
      s,
    )
  );
}

/** ⟨routine(args), e⟩. */
async function pairing(routine: GenredRoutine, args: NDArray[], e: Float64Array): Promise<number> {
  const out = (await routine(...args)) as NDArray;
  let s = 0;
  for (let k = 0; k < e.length; k++) s += out.data[k] * e[k];
  return s;
}

/** Checks routine.grad(name) against central differences of ⟨routine, e⟩. */
async function checkGrad(
  routine: GenredRoutine,
  args: NDArray[],
  names: string[],
  name: string,
  seed: number,
) {
  const out = (await routine(...args)) as NDArray;
  const r = rng(seed);
  const e = uniform(r, out.data.length);
  const g = (await routine.grad(name)(...args, ndarray(e, [...out.shape]))) as NDArray;
  const v = names.indexOf(name);
  const h = 1e-6;
  const fd = new Float64Array(args[v].data.length);
  for (let q = 0; q < fd.length; q++) {
    const at = (delta: number) => {
      const moved = args.map((a) => ndarray(Float64Array.from(a.data), [...a.shape]));
      moved[v].data[q] += delta;
      return pairing(routine, moved, e);
    };
    fd[q] = ((await at(h)) - (await at(-h))) / (2 * h);
  }
  assertClose(g.data, fd, { rtol: 1e-5, atol: 1e-6, what: `d/d${name}` });
  return { e: ndarray(e, [...out.shape]) };
}

const CASES: [string, string, GenredOptions][] = [
  ["Sum", "Exp(-p*SqDist(x,y)) * b", {}],
  ["LogSumExp", "-p*SqDist(x,y) + Elem(b,0)", { reduction: "LogSumExp" }],
  ["weighted LogSumExp", "-p*SqDist(x,y) + Elem(b,0)", {
    reduction: "LogSumExp",
    formula2: "Exp(b * Elem(x, 1))",
  }],
  ["LogSumExpWeight", "-p*SqDist(x,y)", { reduction: "LogSumExpWeight", formula2: "Exp(b)" }],
  ["SumSoftMaxWeight", "-p*SqDist(x,y) + Elem(b,1)", {
    reduction: "SumSoftMaxWeight",
    formula2: "b * Elem(x, 0)",
  }],
  ["Min", "SqDist(x,y) * p + b", { reduction: "Min" }],
  ["Max", "SqDist(x,y) * p + b", { reduction: "Max" }],
  ["KMin", "SqDist(x,y) * p + b", { reduction: "KMin", k: 3 }],
];

for (const [label, formula, opts] of CASES) {
  for (const axis of [0, 1] as const) {
    Deno.test(`${label} (axis ${axis}): .grad of every variable matches finite differences`, async () => {
      const routine = Genred(formula, ALIASES, { ...opts, axis });
      const args = inputs(label.length + axis);
      for (const [k, name] of NAMES.entries()) await checkGrad(routine, args, NAMES, name, 100 + k);
    });
  }
}

for (
  const [label, formula, opts] of CASES.filter(([l]) =>
    ["Sum", "LogSumExp", "SumSoftMaxWeight", "Min"].includes(l)
  )
) {
  Deno.test(`${label}: second-order gradients (.grad(…).grad(…)) match finite differences`, async () => {
    const routine = Genred(formula, ALIASES, { ...opts, axis: 1 });
    const args = inputs(7 + label.length);
    const { e } = await checkGrad(routine, args, NAMES, "x", 1);
    const first = routine.grad("x");
    for (const name of label === "Min" ? ["y", "x"] : ["x", "y", "p", "e"]) {
      await checkGrad(first, [...args, e], [...NAMES, "e"], name, 2);
    }
  });
}

Deno.test("gradients with batch dimensions sum over broadcast batch dims, shaped like the variable", async () => {
  const r = rng(3);
  const x = ndarray(uniform(r, 2 * 4 * 3), [2, 4, 3]);
  const y = ndarray(uniform(r, 1 * 5 * 3), [1, 5, 3]); // broadcast over the batch
  const b = ndarray(uniform(r, 2 * 5 * 2), [2, 5, 2]);
  const p = ndarray(Float64Array.of(0.3, 0.9), [2, 1]);
  const routine = Genred("Exp(-p*SqDist(x,y)) * b", ALIASES, { axis: 1 });
  for (const name of NAMES) await checkGrad(routine, [x, y, b, p], NAMES, name, 9);
});

Deno.test("Arg reductions have zero gradients; two-output reductions and Max_SumShiftExp refuse .grad", async () => {
  const args = inputs(1);
  const arg = Genred("SqDist(x,y)", ALIASES, { reduction: "ArgMin", axis: 1 });
  const g = (await arg.grad("x")(...args, ndarray(new Float64Array(4).fill(1), [4, 1]))) as NDArray;
  assertClose(g.data, new Float64Array(12));
  await assertThrowsClass(
    () => Genred("SqDist(x,y)", ALIASES, { reduction: "Min_ArgMin" }).grad("x"),
    TypeError,
    /two outputs/,
  );
  await assertThrowsClass(
    () => Genred("SqDist(x,y)", ALIASES, { reduction: "Max_SumShiftExp" }).grad("x"),
    TypeError,
    /Cannot differentiate the Max_SumShiftExp reduction/,
  );
  await assertThrowsClass(
    () => Genred("SqDist(x,y)", ALIASES).grad("z"),
    TypeError,
    /Cannot differentiate with respect to "z"/,
  );
  await assertThrowsClass(
    () => Genred("BSpline(x, p, 1)", ALIASES).grad("x")(...args, [[0], [0], [0], [0]]),
    TypeError,
    /BSpline has no gradient/,
  );
});

Deno.test("a grad routine prints the formula it differentiates", () => {
  const g = Genred("Exp(-SqDist(x,y)) * b", ALIASES, { axis: 1 }).grad("x");
  if (g.formula !== "Grad((Exp(Minus(SqDist(Var(0,3,0),Var(1,3,1)))) * Var(2,2,1)),Var(0,3,0),Var(4,2,0))") {
    throw new Error(`unexpected formula ${g.formula}`);
  }
});

Deno.test("the gradient of a gradient that is identically zero is zero, to any order", async () => {
  const g = Genred("x", ["x = Vi(1)", "y = Vj(1)"], { axis: 1 }).grad("y");
  const x = ndarray(Float64Array.of(1, 2, 3), [3, 1]), y = ndarray(Float64Array.of(4, 5), [2, 1]);
  const e = ndarray(Float64Array.of(1, 1, 1), [3, 1]), e2 = ndarray(Float64Array.of(1, 1), [2, 1]);
  assert.deepEqual(Array.from(((await g(x, y, e)) as NDArray).data), [0, 0]);
  const gg = g.grad("y");
  assert.deepEqual(Array.from(((await gg(x, y, e, e2)) as NDArray).data), [0, 0]);
  const gx = g.grad("x");
  assert.deepEqual(Array.from(((await gx(x, y, e, e2)) as NDArray).data), [0, 0, 0]);
});
