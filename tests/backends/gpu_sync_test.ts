/**
 * The GPU engine's synchronous path (what TensorFlow.js's webgpu backend uses): on an injected
 * device, arrays in and results out as GPU buffers, no read-back; gradients whose stages the
 * asynchronous path runs on the host (a parameter's sum over rows, Min's and KMin's sums over
 * the selected pairs) run on the device. Compared with the float64 oracle.
 */

import { fromGpu, Genred, setDevice, toGpu, UnsupportedError } from "../../mod.ts";
import { GPU } from "../_backends.ts";
import { assertClose, assertThrowsClass, rng, uniform } from "../_helpers.ts";
import { gpuTraffic } from "../../backends/webgpu/engine.ts";
import assert from "node:assert/strict";

const M = 29, N = 41;
const r = rng(2014);
const x = { data: Float32Array.from(uniform(r, M * 2)), shape: [M, 2] };
const y = { data: Float32Array.from(uniform(r, N * 2)), shape: [N, 2] };
const s = { data: Float32Array.of(0.8), shape: [1] };
const aliases = ["x = Vi(2)", "y = Vj(2)", "s = Pm(1)"];

const CASES: [string, string, Record<string, unknown>, number][] = [
  ["Sum", "Exp(-s*SqDist(x,y))", { reduction: "Sum" }, 1],
  ["LogSumExp", "-s*SqDist(x,y)", { reduction: "LogSumExp" }, 1],
  ["Min", "s*SqDist(x,y)", { reduction: "Min" }, 1],
  ["KMin", "s*SqDist(x,y)", { reduction: "KMin", k: 3 }, 3],
];

Deno.test({
  name: "gpu sync: gradients in x, y and a parameter, on the device, equal the oracle's",
  ignore: !GPU,
  async fn() {
    const adapter = await navigator.gpu.requestAdapter();
    const device = await adapter!.requestDevice();
    setDevice(device, { fallback: true });
    try {
      for (const [name, formula, opts, width] of CASES) {
        const g = Genred(formula, aliases, { ...opts, axis: 1 } as never);
        const e = { data: Float32Array.from(uniform(r, M * width)), shape: [M, width] };
        const onGpu = [await toGpu(x), await toGpu(y), await toGpu(s), await toGpu(e)];
        for (const v of ["x", "y", "s"]) {
          const want = await g.grad(v)(x, y, s, e, { backend: "reference" });
          const before = gpuTraffic();
          const out = g.grad(v).sync(...onGpu, { backend: "gpu", output: "gpu" });
          assert.deepEqual(gpuTraffic(), before); // nothing through the host
          const got = await fromGpu(out as never);
          assertClose(got.data, want.data, { rtol: 2e-3, atol: 2e-4, what: `${name} d/d${v}` });
        }
      }
      // Without output "gpu" a synchronous GPU call would need a read-back: refused.
      const g = Genred("SqDist(x,y)", aliases, { axis: 1 });
      const args = [await toGpu(x), await toGpu(y), await toGpu(s)];
      await assertThrowsClass(
        () => g.sync(...args, { backend: "gpu" }),
        UnsupportedError,
        /asynchronously/,
      );
    } finally {
      setDevice(undefined);
      device.destroy();
    }
  },
});
