/**
 * Conjugate gradient on the GPU: the vectors a, r, p and the scalars of the iteration live in
 * GPU buffers, the operator is applied on the device (a Sum reduction with its output left
 * there), and the host only reads the residual every `CHECK_EVERY` iterations to decide to
 * stop. Each iteration is four small passes after q = K p:
 *
 *     pq = ⟨p, q + α p⟩;  s = rr / pq                       (one workgroup)
 *     a += s p;  r −= s (q + α p)                            (one invocation per component)
 *     rr' = ⟨r, r⟩;  β = rr' / rr;  done = rr' < tol         (one workgroup)
 *     p = r + β p
 *
 * Once the residual is below the tolerance the state freezes (s = β = 0), so the iterations
 * run between two checks change nothing.
 *
 * @module
 */

import { gpuDevice } from "./device.ts";
import { UnsupportedError } from "../../formula/errors.ts";

/** Iterations between two reads of the residual. */
const CHECK_EVERY = 8;
const WG = 256;

// The state S: [rr, pq, s, beta, done, iterations]; the uniform U: n, α, tol.
const COMMON = `
struct U { n: u32, alpha: f32, tol: f32, pad: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> S: array<f32, 8>;
@group(0) @binding(2) var<storage, read_write> a: array<f32>;
@group(0) @binding(3) var<storage, read_write> r: array<f32>;
@group(0) @binding(4) var<storage, read_write> p: array<f32>;
@group(0) @binding(5) var<storage, read> q: array<f32>;
var<workgroup> part: array<f32, ${WG}>;
fn touch() { if (u.n == 0xffffffffu) { a[0] = q[0]; r[0] = 0.0; p[0] = 0.0; S[0] = 0.0; } }
// Σ over the components of f(k), by one workgroup: strided partial sums, then a tree.
fn wgSum(lid: u32, v: f32) -> f32 {
  part[lid] = v;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w = w / 2u) {
    if (lid < w) { part[lid] += part[lid + w]; }
    workgroupBarrier();
  }
  return part[0];
}
fn rSquared(lid: u32) -> f32 {
  var t = 0.0;
  for (var k = lid; k < u.n; k += ${WG}u) { t += r[k] * r[k]; }
  return wgSum(lid, t);
}
`;

const SHADERS = {
  // rr = ⟨r, r⟩ at the start; done when already below the tolerance.
  init: `${COMMON}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) l: vec3<u32>) {
  touch();
  let rr = rSquared(l.x);
  if (l.x == 0u) { S[0] = rr; S[4] = select(0.0, 1.0, rr < u.tol); S[5] = 0.0; }
}`,
  step: `${COMMON}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) l: vec3<u32>) {
  touch();
  var t = 0.0;
  for (var k = l.x; k < u.n; k += ${WG}u) { t += p[k] * (q[k] + u.alpha * p[k]); }
  let pq = wgSum(l.x, t);
  if (l.x == 0u) { S[1] = pq; S[2] = select(S[0] / pq, 0.0, S[4] != 0.0); }
}`,
  update: `${COMMON}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  touch();
  let k = g.x + g.y * ${WG * 65535}u;
  if (k >= u.n) { return; }
  let s = S[2];
  a[k] += s * p[k];
  r[k] -= s * (q[k] + u.alpha * p[k]);
}`,
  residual: `${COMMON}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) l: vec3<u32>) {
  touch();
  let rr = rSquared(l.x);
  if (l.x == 0u) {
    let done = S[4] != 0.0;
    S[3] = select(rr / S[0], 0.0, done);
    if (!done) { S[0] = rr; S[4] = select(0.0, 1.0, rr < u.tol); S[5] += 1.0; }
  }
}`,
  direction: `${COMMON}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  touch();
  let k = g.x + g.y * ${WG * 65535}u;
  if (k >= u.n) { return; }
  p[k] = r[k] + S[3] * p[k]; // β = 0 once frozen: p = r, which a step of s = 0 leaves unused
}`,
};

const pipelines = new WeakMap<GPUDevice, Record<keyof typeof SHADERS, GPUComputePipeline>>();

/**
 * Solves (α·Id + K) a = b on the GPU, where `apply(p)` gives K p as a new GPU buffer of n
 * floats (which this function destroys after use). Returns a, the iterations run until the
 * residual fell below the tolerance (or all of them), ‖r‖² and whether it converged.
 *
 * @example
 * ```ts ignore
 * import { gpuConjugateGradient } from "./cg.ts";
 * // apply: a Genred called with p as a GpuArray and { backend: "gpu", output: "gpu" }
 * const { a, iterations, converged } = await gpuConjugateGradient(apply, Float32Array.of(1, 2), 0.1, 1e-6);
 * ```
 */
export async function gpuConjugateGradient(
  apply: (p: GPUBuffer) => Promise<GPUBuffer>,
  b: Float32Array,
  alpha: number,
  eps: number,
  maxIterations = 10 * b.length,
): Promise<{ a: Float32Array; iterations: number; rr: number; converged: boolean }> {
  const info = await gpuDevice();
  if (!info) throw new TypeError("There is no WebGPU device here: the GPU solver needs one");
  const device = info.device;
  let pl = pipelines.get(device);
  if (!pl) {
    const mk = (code: string) =>
      device.createComputePipeline({
        layout: "auto",
        compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
      });
    pl = {
      init: mk(SHADERS.init),
      step: mk(SHADERS.step),
      update: mk(SHADERS.update),
      residual: mk(SHADERS.residual),
      direction: mk(SHADERS.direction),
    };
    pipelines.set(device, pl);
  }
  const n = b.length;
  const bytes = Math.max(16, n * 4);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const mkBuf = (size: number, u = usage) => device.createBuffer({ size, usage: u });
  const [a, r, p] = [mkBuf(bytes), mkBuf(bytes), mkBuf(bytes)];
  const S = mkBuf(32);
  const none = mkBuf(16); // q of the first pass (a buffer may not be bound twice, written once)
  const U = mkBuf(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  const readS = mkBuf(32, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
  const readA = mkBuf(bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
  const owned = [a, r, p, S, none, U, readS, readA];
  // Each batch of this solver's commands in its own error scope, opened and closed without an
  // await between (other calls may run at the awaits, with scopes of their own).
  const errors: Promise<GPUError | null>[] = [];
  const submit = (encode: () => GPUCommandEncoder) => {
    device.pushErrorScope("validation");
    device.queue.submit([encode().finish()]);
    errors.push(device.popErrorScope());
  };
  try {
    device.queue.writeBuffer(r, 0, b as Float32Array<ArrayBuffer>);
    device.queue.writeBuffer(p, 0, b as Float32Array<ArrayBuffer>);
    const uni = new ArrayBuffer(16);
    new Uint32Array(uni, 0, 1)[0] = n;
    new Float32Array(uni, 4, 2).set([alpha, n * eps * eps]);
    device.queue.writeBuffer(U, 0, uni);
    const groups = Math.ceil(n / WG);
    const grid: [number, number] = [Math.min(groups, 65535), Math.ceil(groups / 65535)];
    const bind = (pipe: GPUComputePipeline, q: GPUBuffer) =>
      device.createBindGroup({
        layout: pipe.getBindGroupLayout(0),
        entries: [U, S, a, r, p, q].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
    const passes = (list: [GPUComputePipeline, [number, number]][], q: GPUBuffer) => {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      for (const [pipe, g] of list) {
        pass.setPipeline(pipe);
        pass.setBindGroup(0, bind(pipe, q));
        pass.dispatchWorkgroups(...g);
      }
      pass.end();
      return enc;
    };
    const copy = (from: GPUBuffer, to: GPUBuffer, size: number) => () => {
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(from, 0, to, 0, size);
      return enc;
    };
    const state = async () => {
      submit(copy(S, readS, 32));
      await readS.mapAsync(GPUMapMode.READ);
      const s = new Float32Array(readS.getMappedRange().slice(0));
      readS.unmap();
      return s;
    };
    submit(() => passes([[pl.init, [1, 1]]], none));
    let last = await state();
    let done = last[4] !== 0;
    for (let it = 0; it < maxIterations && !done; it++) {
      const q = await apply(p);
      submit(() =>
        passes([[pl.step, [1, 1]], [pl.update, grid], [pl.residual, [1, 1]], [pl.direction, grid]], q)
      );
      q.destroy();
      if ((it + 1) % CHECK_EVERY === 0 || it + 1 === maxIterations) {
        last = await state();
        done = last[4] !== 0 || !Number.isFinite(last[0]);
      }
    }
    const error = (await Promise.all(errors)).find((e) => e);
    if (error) {
      throw new UnsupportedError(`The WebGPU device rejected the solver's passes (${error.message})`);
    }
    submit(copy(a, readA, bytes));
    await readA.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(readA.getMappedRange().slice(0, n * 4));
    readA.unmap();
    // Iterations counted on the device up to convergence (the state froze there).
    return { a: out, iterations: last[5], rr: last[0], converged: last[4] !== 0 };
  } finally {
    for (const buf of owned) buf.destroy();
  }
}
