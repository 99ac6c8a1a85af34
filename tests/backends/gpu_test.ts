// The WebGPU engine alone: pipeline cache, formula text kept out of WGSL, device choice and
// device loss. Runs where there is an adapter (lavapipe in CI, where its absence fails the run).
import assert from "node:assert/strict";
import {
  fromGpu,
  Genred,
  type GpuArray,
  type NDArray,
  ndarray,
  setDevice,
  toGpu,
  Vi,
  Vj,
} from "../../mod.ts";
import { isGpuArray } from "../../backends/webgpu/gpu_array.ts";
import { GPU } from "../_backends.ts";
import { pipelineStats } from "../../backends/webgpu/engine.ts";
import { generate } from "../../backends/webgpu/codegen.ts";
import { f32Literal } from "../../backends/webgpu/wgsl_ops.ts";
import { selectBackend } from "../../backends/select.ts";
import { gpuDevice } from "../../backends/webgpu/device.ts";
import { parseFormula, type VarSpec } from "../../formula/parse.ts";
import { lower } from "../../formula/grad.ts";
import { REDUCTIONS } from "../../formula/reductions.ts";
import { assertClose, assertThrowsClass, rng, uniform } from "../_helpers.ts";

const f32 = (r: () => number, n: number) => Float32Array.from(uniform(r, n));

Deno.test({ name: "[gpu] a second call with new data compiles nothing", ignore: !GPU }, async () => {
  const g = Genred("Exp(-SqDist(x,y) * 1.25)*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { axis: 1 });
  const r = rng(1);
  const call = () =>
    g(ndarray(f32(r, 30), [10, 3]), ndarray(f32(r, 60), [20, 3]), ndarray(f32(r, 20), [20, 1]), {
      backend: "gpu",
    });
  await call();
  const before = pipelineStats();
  const out = (await call()) as NDArray;
  const after = pipelineStats();
  assert.equal(out.shape[0], 10);
  assert.equal(after.compiled, before.compiled);
  assert.equal(after.cached, before.cached + 1);
});

Deno.test("formula text never reaches the WGSL source: only generated names and formatted numbers", () => {
  const scope = new Map<string, VarSpec>([
    ["zz_alias_xi", { ind: 0, dim: 3, cat: 0 }],
    ["zz_alias_yj", { ind: 1, dim: 3, cat: 1 }],
  ]);
  const F = lower(
    parseFormula("Exp(-SqDist(zz_alias_xi, zz_alias_yj) * 0.3333) + Pow(Elem(zz_alias_xi, 1), 3)", scope),
  );
  const { code, constants } = generate(
    { reduction: REDUCTIONS.Sum, dims: { D: 1, K: 0, Dw: 1 }, formulas: [F], dtype: "float32" },
    { workgroupSize: 64, tile: 64, rows: 1 },
  );
  assert.ok(!code.includes("zz_alias"), "alias names stay out of the shader");
  assert.ok(!code.includes("0.33329"), "constants stay out of the shader");
  assert.ok(constants.includes(0.3333), "the constant is data, read from the input buffer");
  // Every identifier is a WGSL word, a generated name or a helper of the table.
  const ids = new Set(code.replace(/0x[0-9a-fA-F]+u?/g, "").match(/[A-Za-z_][A-Za-z0-9_]*/g));
  const generated =
    /^(v|s|t|c|e|o|q|y)\d+(_\d+)?$|^(live|i|acc|part|idx)_\d+$|^kt_|^(P|Params|main|gid|lid|wid|workgroup_id|inp4|tj|f|xyzw|clen|partial|jlo|jhi|jg|cv|ci|mv|lt|tv|ti|acc|part|idx|k|c|q|r|i|j|jj|j0|cnt|vo|io|live|firstBlock|lastBlock|inp|outv|outi|accb|off|m|n|jbase|flags|inf|nan|cbase|pad\d|base|z|a|x|y|e|b|t|yi|ev|sc|v|s|xv|best|at|u|x3|ay|ax|xneg|atan|bool)$/;
  const wgsl = new Set([
    "fn",
    "let",
    "var",
    "const",
    "return",
    "if",
    "else",
    "for",
    "loop",
    "break",
    "select",
    "struct",
    "array",
    "vec3",
    "vec4",
    "u32",
    "i32",
    "f32",
    "bitcast",
    "uniform",
    "storage",
    "read",
    "read_write",
    "workgroup",
    "group",
    "binding",
    "compute",
    "workgroup_size",
    "builtin",
    "global_invocation_id",
    "local_invocation_id",
    "workgroupBarrier",
    "min",
    "max",
    "exp",
    "exp2",
    "log",
    "log2",
    "abs",
    "sqrt",
    "trunc",
    "sign",
    "true",
    "false",
    "e",
    "f",
    "u",
  ]);
  const unknown = [...ids].filter((id) => !wgsl.has(id) && !generated.test(id) && !/^\d/.test(id));
  assert.deepEqual(unknown, []);
  for (const bad of [NaN, Infinity, -Infinity]) assert.throws(() => f32Literal(bad), RangeError);
});

Deno.test({
  name: '[gpu] "auto" stays on the CPU with a software adapter and takes an injected hardware device',
  ignore: !GPU,
}, async () => {
  const info = await gpuDevice();
  assert.ok(info);
  if (info.fallback) assert.equal((await selectBackend("auto", "float32")).name, "cpu");
  assert.equal((await selectBackend("auto", "float64")).name, "cpu");
  const device = await (await navigator.gpu.requestAdapter())!.requestDevice();
  setDevice(device, { fallback: false });
  try {
    assert.equal((await selectBackend("auto", "float32")).name, "gpu");
    assert.equal((await selectBackend("auto", "float64")).name, "cpu");
  } finally {
    setDevice(undefined);
    device.destroy();
  }
});

Deno.test({
  name: "[gpu] a lost device gives a clear error, and the next call opens a new one",
  ignore: !GPU,
}, async () => {
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter!.requestDevice();
  setDevice(device);
  const g = Genred("SqDist(x,y)", ["x = Vi(1)", "y = Vj(1)"], { reduction: "ArgMin", axis: 1 });
  const args = [ndarray(Float32Array.of(0, 5), [2, 1]), ndarray(Float32Array.of(1, 4, 9), [3, 1])];
  assert.deepEqual(Array.from(((await g(...args, { backend: "gpu" })) as NDArray).data), [0, 1]);
  device.destroy();
  await device.lost;
  await assertThrowsClass(
    () => g(...args, { backend: "gpu" }),
    Error,
    /The GPU device was lost .* the next call opens a new one/,
  );
  assert.deepEqual(Array.from(((await g(...args, { backend: "gpu" })) as NDArray).data), [0, 1]);
  setDevice(undefined);
});

Deno.test({ name: "[gpu] LogSumExp stays finite where the naive sum overflows", ignore: !GPU }, async () => {
  const x = ndarray(Float32Array.of(100, -100), [2, 1]), y = ndarray(Float32Array.of(1, 0.5, 0.9), [3, 1]);
  const out = (await Genred("x * y", ["x = Vi(1)", "y = Vj(1)"], { reduction: "LogSumExp", axis: 1 })(x, y, {
    backend: "gpu",
  })) as NDArray;
  const lse = (xi: number) => {
    const t = [1, 0.5, 0.9].map((v) => xi * v), m = Math.max(...t);
    return m + Math.log(t.reduce((s, v) => s + Math.exp(v - m), 0));
  };
  assertClose(out.data, [lse(100), lse(-100)], { rtol: 1e-6 });
});

Deno.test({
  name: '[gpu] arrays stay on the GPU: inputs from toGpu, results with output "gpu", chained',
  ignore: !GPU,
}, async () => {
  const r = rng(9);
  const M = 50, N = 70;
  const X = f32(r, M * 3), Y = f32(r, N * 3), B = f32(r, N);
  const g = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { axis: 1 });
  const host =
    (await g(ndarray(X, [M, 3]), ndarray(Y, [N, 3]), ndarray(B, [N, 1]), { backend: "gpu" })) as NDArray;
  const [gx, gy, gb] = await Promise.all([
    toGpu(ndarray(X, [M, 3])),
    toGpu(ndarray(Y, [N, 3])),
    toGpu(ndarray(B, [N, 1])),
  ]);
  const out = (await g(gx, gy, gb, { backend: "gpu", output: "gpu" })) as unknown as GpuArray;
  assert.ok(isGpuArray(out));
  assert.deepEqual(out.shape, [M, 1]);
  assertClose((await fromGpu(out)).data, host.data, { rtol: 1e-6 });
  // Chained: the result, still on the GPU, is the weight of a reduction over i.
  const back = Genred("Exp(-SqDist(x,y))*a", ["x = Vi(3)", "y = Vj(3)", "a = Vi(1)"], { axis: 0 });
  const chained = (await back(gx, gy, out, { backend: "gpu" })) as NDArray;
  const expected =
    (await back(ndarray(X, [M, 3]), ndarray(Y, [N, 3]), host, { backend: "reference" })) as NDArray;
  assertClose(chained.data, expected.data, { rtol: 2e-5, atol: 1e-6 });
  // Other engines read GPU arrays back by themselves.
  assertClose(((await g(gx, gy, gb, { backend: "cpu" })) as NDArray).data, host.data, { rtol: 2e-5 });
});

Deno.test({ name: "[gpu] the kernel solver runs with its data on the GPU", ignore: !GPU }, async () => {
  const pts = Array.from({ length: 40 }, (_, k) => [Math.cos(k), Math.sin(3 * k)]);
  const b = pts.map((_, k) => [k % 5]);
  const K = Vi(pts).sqdist(Vj(pts)).neg().exp();
  const a = await K.solve(b, { alpha: 0.5, backend: "gpu" });
  const resid = pts.map((p, i) =>
    0.5 * a.data[i] + pts.reduce((s, q, j) =>
      s + Math.exp(-((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2)) * a.data[j], 0) -
    b[i][0]
  );
  assertClose(resid, new Array(40).fill(0), { atol: 2e-4 });
});

Deno.test(
  { name: "[gpu] more rows than one dispatch dimension holds run on a 2-D grid", ignore: !GPU },
  async () => {
    const M = 4_300_000; // over 65,535 workgroups of 64
    const x = ndarray(Float32Array.from({ length: M }, (_, i) => (i % 1000) / 1000), [M, 1]);
    const y = ndarray(Float32Array.of(0.25, 0.5), [2, 1]);
    const g = Genred("SqDist(x,y)", ["x = Vi(1)", "y = Vj(1)"], { reduction: "ArgMin", axis: 1 });
    const out = (await g(x, y, { backend: "gpu" })) as NDArray;
    let wrong = 0;
    for (let i = 0; i < M; i++) {
      const v = (i % 1000) / 1000, d0 = Math.abs(v - 0.25), d1 = Math.abs(v - 0.5);
      if (Math.abs(d0 - d1) > 1e-6 && out.data[i] !== (d0 < d1 ? 0 : 1)) wrong++;
    }
    assert.equal(wrong, 0);
  },
);
