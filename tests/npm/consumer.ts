// A consumer of the npm package: type-checked with `strict` (tsconfig.json here) and run by
// Node and Bun from the installed tarball (`.ci/run`). Exits non-zero on a wrong result.
import assert from "node:assert/strict";
import { Genred, getThreads, type NDArray, ndarray, shutdownThreads, Vi, Vj } from "@keops-ts/keops";

const M = 1500, N = 1500;
let seed = 7;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const x = Float32Array.from({ length: M * 3 }, rand), y = Float32Array.from({ length: N * 3 }, rand);
const b = Float32Array.from({ length: N }, rand);
const gauss = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { axis: 1 });
const a: NDArray = await gauss(ndarray(x, [M, 3]), ndarray(y, [N, 3]), ndarray(b, [N, 1]));
const nn = await Vi(ndarray(x, [M, 3])).sqdist(Vj(ndarray(y, [N, 3]))).argKmin(3, 1);
shutdownThreads();
for (const i of [0, 1, M - 1]) {
  let s = 0;
  const d: number[] = [];
  for (let j = 0; j < N; j++) {
    const q = (x[3 * i] - y[3 * j]) ** 2 + (x[3 * i + 1] - y[3 * j + 1]) ** 2 +
      (x[3 * i + 2] - y[3 * j + 2]) ** 2;
    s += Math.exp(-q) * b[j];
    d.push(q);
  }
  assert.ok(Math.abs(a.data[i] - s) <= 1e-5 * s, `row ${i}: ${a.data[i]} vs ${s}`);
  const order = [...d.keys()].sort((p, q) => d[p] - d[q] || p - q).slice(0, 3);
  assert.deepEqual(Array.from(nn.data.subarray(3 * i, 3 * i + 3)), order);
}
console.log(`npm package: Gaussian sum and ArgKMin correct, ${getThreads()} threads`);
