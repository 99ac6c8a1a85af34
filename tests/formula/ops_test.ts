// Every operation of the table against a dense computation written in the tests, on i- and
// j-variables and in pairs, and every gradient rule against central finite differences
// (float64), on every backend; and float32 on the real engines against the float64 oracle.
import assert from "node:assert/strict";
import { Genred, type NDArray, ndarray } from "../../mod.ts";
import { OPS } from "../../formula/ops.ts";
import { assertClose, rng, rows, uniform } from "../_helpers.ts";
import { type OpSpec, SPECS } from "./_op_specs.ts";
import { BACKENDS, F64_BACKENDS } from "../_backends.ts";

const NAMES = ["a", "b", "c"];

function sample(spec: OpSpec, k: number, n: number, r: () => number): Float64Array {
  const d = spec.dims[k], dom = spec.dom?.[k] ?? [-1, 1];
  const out = new Float64Array(n * d);
  for (let row = 0; row < n; row++) {
    const vals = Array.from(
      { length: d },
      () => dom === "ints" ? Math.floor(3 * r()) : dom === "sorted" ? r() : dom[0] + (dom[1] - dom[0]) * r(),
    );
    if (dom === "sorted") vals.sort((x, y) => x - y);
    out.set(vals, row * d);
  }
  return out;
}

function aliases(spec: OpSpec, cats: string[]): string[] {
  return spec.dims.map((d, k) => `${NAMES[k]} = ${cats[k]}(${d})`);
}

const pick = (data: Float64Array, d: number, row: number) => Array.from(data.subarray(row * d, row * d + d));

for (const backend of F64_BACKENDS) {
  for (const spec of SPECS) {
    const n = spec.dims.length;
    const opts = { backend };
    Deno.test(`[${backend}] ${spec.formula} on i-variables and on j-variables matches the dense computation`, async () => {
      const r = rng(spec.formula.length * 7919 + n);
      const M = 7;
      const data = spec.dims.map((_, k) => sample(spec, k, M, r));
      const expected = [...Array(M).keys()].flatMap((i) =>
        spec.dense(...(data.map((x, k) => pick(x, spec.dims[k], i)) as [number[], number[], number[]]))
      );
      const args = data.map((x, k) => ndarray(x, [M, spec.dims[k]]));
      const onI = (await Genred(
        spec.formula,
        aliases(spec, spec.dims.map(() => "Vi")),
        { axis: 1 },
      )(...args)) as NDArray;
      assertClose(onI.data, expected, { what: "i-variables" });
      const onJ = (await Genred(
        spec.formula,
        aliases(spec, spec.dims.map(() => "Vj")),
        { axis: 0 },
      )(...args)) as NDArray;
      assertClose(onJ.data, expected, { what: "j-variables" });
      assert.deepEqual(onJ.shape, [M, expected.length / M]);
    });

    if (n >= 2) {
      Deno.test(`[${backend}] ${spec.formula} summed over pairs (a_i, b_j) matches a dense double loop`, async () => {
        const r = rng(spec.formula.length * 104729 + 1);
        const M = 4, N = 5;
        const x = sample(spec, 0, M, r);
        const rest = spec.dims.slice(1).map((_, k) => sample(spec, k + 1, N, r));
        const expected: number[] = [];
        for (let i = 0; i < M; i++) {
          let acc: number[] | undefined;
          for (let j = 0; j < N; j++) {
            const v = spec.dense(
              pick(x, spec.dims[0], i),
              ...(rest.map((y, k) => pick(y, spec.dims[k + 1], j)) as [number[], number[]]),
            );
            acc = acc ? acc.map((s, c) => s + v[c]) : v;
          }
          expected.push(...acc!);
        }
        const cats = spec.dims.map((_, k) => (k === 0 ? "Vi" : "Vj"));
        const out = (await Genred(spec.formula, aliases(spec, cats), { axis: 1 })(
          ndarray(x, [M, spec.dims[0]]),
          ...rest.map((y, k) => ndarray(y, [N, spec.dims[k + 1]])),
          opts,
        )) as NDArray;
        assertClose(out.data, expected, { rtol: 1e-11, atol: 1e-11 });
      });
    }

    if (spec.grad !== false) {
      for (const v of spec.gradVars ?? [...Array(n).keys()]) {
        Deno.test(`[${backend}] Grad of ${spec.formula} with respect to ${NAMES[v]} matches finite differences`, async () => {
          const r = rng(spec.formula.length * 31 + v);
          const M = 5;
          const data = spec.dims.map((_, k) => sample(spec, k, M, r));
          const cats = spec.dims.map(() => "Vi");
          const forward = Genred(spec.formula, aliases(spec, cats), { axis: 1 });
          const D = ((await forward(
            ...data.map((x, k) => ndarray(x, [M, spec.dims[k]])),
            opts,
          )) as NDArray).shape[1];
          const e = Float64Array.from({ length: M * D }, () => r() * 2 - 1);
          const grad = Genred(
            `Grad(${spec.formula}, ${NAMES[v]}, e)`,
            [...aliases(spec, cats), `e = Vi(${D})`],
            { axis: 1 },
          );
          const g = (await grad(
            ...data.map((x, k) => ndarray(x, [M, spec.dims[k]])),
            ndarray(e, [M, D]),
          )) as NDArray;
          // Central differences of ⟨F(v), e⟩, one component of v at a time (rows are independent).
          const h = 1e-6, dv = spec.dims[v];
          const fd = new Float64Array(M * dv);
          for (let c = 0; c < dv; c++) {
            const s: number[][] = [];
            for (const sign of [1, -1]) {
              const moved = data.map((x) => Float64Array.from(x));
              for (let i = 0; i < M; i++) moved[v][i * dv + c] += sign * h;
              const out = (await forward(
                ...moved.map((x, k) => ndarray(x, [M, spec.dims[k]])),
                opts,
              )) as NDArray;
              s.push(
                rows(out.data, D).map((row, i) => row.reduce((acc, y, q) => acc + y * e[i * D + q], 0)),
              );
            }
            for (let i = 0; i < M; i++) fd[i * dv + c] = (s[0][i] - s[1][i]) / (2 * h);
          }
          assertClose(g.data, fd, { rtol: 1e-5, atol: 1e-6, what: "gradient" });
        });
      }
    }
  }
}

for (const backend of BACKENDS.filter((b) => b !== "reference")) {
  for (const spec of SPECS) {
    // The formula and each of its gradients, in float32, against the float64 oracle.
    const formulas = [
      spec.formula,
      ...(spec.grad === false
        ? []
        : (spec.gradVars ?? [...spec.dims.keys()]).map((v) => `Grad(${spec.formula}, ${NAMES[v]}, e)`)),
    ];
    Deno.test(`[${backend}] ${spec.formula} and its gradients in float32 match the float64 oracle`, async () => {
      const r = rng(spec.formula.length * 613 + 5);
      const M = 9, N = 7; // not multiples of the lane counts
      const cats = spec.dims.map((_, k) => (k === 0 ? "Vi" : "Vj"));
      const data = spec.dims.map((_, k) => Float32Array.from(sample(spec, k, k === 0 ? M : N, r)));
      const args = data.map((x, k) => ndarray(x, [k === 0 ? M : N, spec.dims[k]]));
      const D = ((await Genred(spec.formula, aliases(spec, cats), { axis: 1 })(...args, {
        backend: "reference",
      })) as NDArray).shape[1];
      const e = ndarray(Float32Array.from(uniform(r, M * D)), [M, D]);
      for (const f of formulas) {
        const g = Genred(f, [...aliases(spec, cats), `e = Vi(${D})`], { axis: 1 });
        const out = (await g(...args, e, { backend })) as NDArray;
        const oracle = (await g(...args, e, { backend: "reference" })) as NDArray;
        assert.ok(out.data instanceof Float32Array);
        assertClose(out.data, oracle.data, {
          rtol: backend === "gpu" ? 2e-5 : 4e-6,
          atol: backend === "gpu" ? 2e-5 : 2e-6,
          what: f,
        });
      }
    });
  }
}

Deno.test("every operation of the table has a test specification", () => {
  const covered = new Set(SPECS.flatMap((s) => s.ops));
  const untested = Object.entries(OPS)
    .filter(([name, def]) => def.kind !== "symbolic" && name !== "Var" && !covered.has(name))
    .map(([name]) => name);
  assert.deepEqual(untested, []);
});
