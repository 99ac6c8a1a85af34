/**
 * The WebGPU engine's generated kernels against a hand-written WGSL kernel for exactly the
 * Gaussian sum, tiled the same way (64 invocations, 64 rows of y per tile in workgroup memory):
 * the ceiling on this adapter. Also ArgKMin (K = 10) and the first-call (compile) and
 * cached-call latency. `deno run -A bench/gpu_ratios.ts [M]` (default M = N = 8192, D = 3).
 * Every figure is a median of 3, measured in this run, whole calls (upload, run, read back).
 *
 * @module
 */

import { Genred, ndarray } from "../mod.ts";
import { gpuDevice } from "../backends/webgpu/device.ts";

const M = Number(Deno.args[0] ?? 8192), N = M;
let seed = 13;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const fill = (n: number) => Float32Array.from({ length: n }, rand);
const X = fill(M * 3), Y = fill(N * 3), B = fill(N);
const x = ndarray(X, [M, 3]), y = ndarray(Y, [N, 3]), b = ndarray(B, [N, 1]);

const HAND = `
@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read> ys: array<f32>;
@group(0) @binding(2) var<storage, read> bs: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> dims: vec2<u32>;
var<workgroup> ty: array<f32, 192>;
var<workgroup> tb: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = gid.x; let m = dims.x; let n = dims.y; let inside = i < m;
  var x0 = 0.0; var x1 = 0.0; var x2 = 0.0;
  if (inside) { x0 = xs[3u * i]; x1 = xs[3u * i + 1u]; x2 = xs[3u * i + 2u]; }
  var acc = 0.0;
  for (var j0 = 0u; j0 < n; j0 += 64u) {
    let j = j0 + lid.x;
    if (j < n) { ty[3u * lid.x] = ys[3u * j]; ty[3u * lid.x + 1u] = ys[3u * j + 1u]; ty[3u * lid.x + 2u] = ys[3u * j + 2u]; tb[lid.x] = bs[j]; }
    workgroupBarrier();
    if (inside) {
      let cnt = min(64u, n - j0);
      var part = 0.0;
      for (var jj = 0u; jj < cnt; jj++) {
        let d0 = x0 - ty[3u * jj]; let d1 = x1 - ty[3u * jj + 1u]; let d2 = x2 - ty[3u * jj + 2u];
        part += exp(-(d0 * d0 + d1 * d1 + d2 * d2)) * tb[jj];
      }
      acc += part;
    }
    workgroupBarrier();
  }
  if (inside) { out[i] = acc; }
}`;

const info = await gpuDevice();
if (!info) {
  throw new Error("No WebGPU adapter: install mesa-vulkan-drivers (lavapipe) or run where there is a GPU");
}
const device = info.device;
const pipeline = device.createComputePipeline({
  layout: "auto",
  compute: { module: device.createShaderModule({ code: HAND }), entryPoint: "main" },
});

async function hand(): Promise<Float32Array> {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const mk = (data: Float32Array) => {
    const buf = device.createBuffer({ size: data.byteLength, usage });
    device.queue.writeBuffer(buf, 0, data as Float32Array<ArrayBuffer>);
    return buf;
  };
  const [bx, by, bb] = [mk(X), mk(Y), mk(B)];
  const out = device.createBuffer({ size: M * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: M * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const dims = device.createBuffer({ size: 8, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(dims, 0, Uint32Array.of(M, N));
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [bx, by, bb, out, dims].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(Math.ceil(M / 64));
  pass.end();
  enc.copyBufferToBuffer(out, 0, read, 0, M * 4);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const res = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  for (const buf of [bx, by, bb, out, read, dims]) buf.destroy();
  return res;
}

async function median(f: () => Promise<unknown>, runs = 3): Promise<number> {
  const t: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    await f();
    t.push(performance.now() - t0);
  }
  return t.sort((p, q) => p - q)[Math.floor(runs / 2)];
}

const aliases = ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"];
const gauss = Genred("Exp(-SqDist(x,y))*b", aliases, { axis: 1 });
const argk = Genred("SqDist(x,y)", ["x = Vi(3)", "y = Vj(3)"], { reduction: "ArgKMin", k: 10, axis: 1 });
await hand();
const ref = await hand();
const ours = await gauss(x, y, b, { backend: "gpu" });
let worst = 0;
for (let i = 0; i < M; i++) worst = Math.max(worst, Math.abs(ours.data[i] - ref[i]) / Math.abs(ref[i]));
const tHand = await median(hand);
const tGen = await median(() => gauss(x, y, b, { backend: "gpu" }));
await argk(x, y, { backend: "gpu" });
const tArgk = await median(() => argk(x, y, { backend: "gpu" }));
const tArgkCpu = await median(() => argk(x, y, { backend: "cpu" }));
// Latency at M = N = 100: a formula never seen (first call: shader generation and pipeline
// compilation) and the same formula again with new data (cached).
const small = [ndarray(fill(300), [100, 3]), ndarray(fill(300), [100, 3]), ndarray(fill(100), [100, 1])];
const fresh = Genred("Exp(-SqDist(x,y) * 0.7)*b + Sqrt(SqDist(x,y))", aliases, { axis: 1 });
let t0 = performance.now();
await fresh(...small, { backend: "gpu" });
const tFirst = performance.now() - t0;
const tCached = await median(() => fresh(...small, { backend: "gpu" }), 5);
t0 = performance.now();
console.log(
  `adapter: ${info.description}${
    info.fallback ? " (software fallback adapter)" : ""
  }; M = N = ${M}, D = 3, float32`,
);
console.log(`| workload | time | ratio |`);
console.log(`|---|---|---|`);
console.log(`| hand-written WGSL Gaussian sum (ceiling) | ${tHand.toFixed(0)} ms | 1.00 |`);
console.log(
  `| generated kernel, Gaussian sum | ${tGen.toFixed(0)} ms | **${
    (tGen / tHand).toFixed(2)
  }×** the hand-written time (max rel. difference ${worst.toExponential(1)}) |`,
);
console.log(
  `| generated kernel, ArgKMin K = 10 | ${tArgk.toFixed(0)} ms | ${
    (tArgk / tHand).toFixed(2)
  }× the Gaussian ceiling; cpu engine ${tArgkCpu.toFixed(0)} ms |`,
);
console.log(`| first call, M = N = 100 (generate + compile) | ${tFirst.toFixed(1)} ms | |`);
console.log(`| cached call, M = N = 100 | ${tCached.toFixed(1)} ms | |`);
