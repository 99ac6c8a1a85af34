// The reference engine: tile boundaries, and memory that stays linear in M + N.
import assert from "node:assert/strict";
import { Genred, type NDArray, ndarray } from "../../mod.ts";
import { TILE } from "../../backends/reference.ts";
import { assertClose, rng, uniform } from "../_helpers.ts";

Deno.test("sizes around the tile length give the dense results", async () => {
  const r = rng(12);
  for (const N of [1, TILE - 1, TILE, TILE + 1, 2 * TILE + 3]) {
    const M = 3;
    const x = uniform(r, M), y = uniform(r, N), b = uniform(r, N);
    const g = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(1)", "y = Vj(1)", "b = Vj(1)"], { axis: 1 });
    const out = (await g(ndarray(x, [M, 1]), ndarray(y, [N, 1]), ndarray(b, [N, 1]), {
      backend: "reference",
    })) as NDArray;
    const dense = Array.from(x, (xi) => y.reduce((s, yj, j) => s + Math.exp(-((xi - yj) ** 2)) * b[j], 0));
    assertClose(out.data, dense, { rtol: 1e-12, what: `N = ${N}` });
    const am = (await Genred("SqDist(x,y)", ["x = Vi(1)", "y = Vj(1)"], { reduction: "ArgMin", axis: 1 })(
      ndarray(x, [M, 1]),
      ndarray(y, [N, 1]),
    )) as NDArray;
    assert.deepEqual(
      Array.from(am.data),
      Array.from(x, (xi) => y.reduce((bj, yj, j) => (Math.abs(xi - yj) < Math.abs(xi - y[bj]) ? j : bj), 0)),
    );
  }
});

Deno.test("a Sum over M = N = 4000 allocates nothing of size M×N", async () => {
  const r = rng(13);
  const M = 4000, N = 4000;
  const x = ndarray(Float32Array.from(uniform(r, M * 3)), [M, 3]);
  const y = ndarray(Float32Array.from(uniform(r, N * 3)), [N, 3]);
  const b = ndarray(Float32Array.from(uniform(r, N)), [N, 1]);
  const g = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { axis: 1 });
  await g(ndarray(x.data.subarray(0, 30), [10, 3]), y, b, { backend: "reference" }); // warm up
  // This isolate's heap and array buffers (not the process's RSS, shared with parallel tests).
  const used = () => {
    const m = Deno.memoryUsage();
    return m.heapUsed + m.external;
  };
  const before = used();
  const out = (await g(x, y, b, { backend: "reference" })) as NDArray;
  const grown = used() - before; // the peak, including garbage not yet collected, is measured by bench/memory.ts
  assert.equal(out.data.length, M);
  assert.ok(grown < 24e6, `memory grew by ${(grown / 1e6).toFixed(1)} MB`);
});
