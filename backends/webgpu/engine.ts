/**
 * The "gpu" backend: generated WGSL on WebGPU. Per plan and device, the shader is generated
 * once and its pipeline cached by its source; a run uploads the inputs (per batch element, in
 * blocks of rows that fit the binding limits), dispatches one invocation per output row (a 2-D
 * grid past 65,535 workgroups), carries the accumulators between blocks of the reduced index,
 * and reads the outputs back once.
 *
 * @module
 */

import {
  type Backend,
  batchOffsets,
  type CompiledReduction,
  type ReduceInputs,
  type ReduceOutput,
  type ReducePlan,
  sizeOf,
} from "../backend.ts";
import { UnsupportedError } from "../../formula/errors.ts";
import { variablesOf } from "../../formula/tree.ts";
import { generate } from "./codegen.ts";
import { LruMap } from "../lru.ts";
import { gpuDevice } from "./device.ts";

/** Pipelines per device, by shader source: the most recently used (a bounded cache). */
const pipelines = new WeakMap<GPUDevice, LruMap<string, GPUComputePipeline>>();
const PIPELINES_KEPT = 256;
let stats = { compiled: 0, cached: 0 };

/** How many pipelines were compiled and how many calls found theirs in the cache. */
export function pipelineStats(): { compiled: number; cached: number } {
  return { ...stats };
}

function pipelineFor(device: GPUDevice, code: string): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, cache = new LruMap(PIPELINES_KEPT));
  const hit = cache.get(code);
  if (hit) {
    stats = { ...stats, cached: stats.cached + 1 };
    return hit;
  }
  const module = device.createShaderModule({ code });
  const p = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
  cache.set(code, p);
  stats = { ...stats, compiled: stats.compiled + 1 };
  return p;
}

const WORKGROUP = 64;
/** The most floats of one j-variable that one dispatch indexes on a software adapter. */
const SOFTWARE_J_FLOATS = 16384;

let blockRows: [number, number] = [Infinity, Infinity];
/**
 * Caps the rows per block of i and of j (beyond the device's binding limits); returns the old
 * caps. Tests use it to exercise blocks on small inputs.
 */
export function setGpuBlockRows(i: number, j: number): [number, number] {
  const old = blockRows;
  blockRows = [i, j];
  return old;
}

async function run(plan: ReducePlan, inp: ReduceInputs): Promise<ReduceOutput> {
  if (plan.dtype === "float64") {
    throw new UnsupportedError(
      'Float64 is not supported by the "gpu" backend (WGSL has no 64-bit floats): use backend "cpu", or "auto", which sends float64 to the CPU',
    );
  }
  const info = await gpuDevice();
  if (!info) {
    throw new UnsupportedError(
      'The "gpu" backend found no WebGPU adapter here: use backend "cpu", or inject a device with setDevice',
    );
  }
  const device = info.device;
  const lim = device.limits;
  const wg = Math.min(WORKGROUP, lim.maxComputeInvocationsPerWorkgroup, lim.maxComputeWorkgroupSizeX);
  const jDims = plan.formulas.length ? [...new Set(collectJ(plan))].reduce((s, d) => s + d, 0) : 0;
  const tile = Math.max(
    1,
    Math.min(wg, Math.floor(lim.maxComputeWorkgroupStorageSize / 4 / Math.max(1, jDims))),
  );
  const shader = generate(plan, wg, tile);
  const kern = plan.reduction.kernel(plan.dims);
  const nb = sizeOf(inp.batch), M = inp.M, N = inp.N;
  const maxBind = lim.maxStorageBufferBindingSize;
  // The inputs share one binding: half of it for the rows of i, the rest for the terms j.
  const rowBytes = (cat: number) =>
    shader.slots.filter((s) => s.cat === cat).reduce((a, s) => a + s.dim * 4, 0);
  const pmBytes = rowBytes(2) + shader.constants.length * 4; // parameters and constants: once
  const outRow = Math.max(shader.valuesWidth, shader.indicesWidth, shader.accSize, 1) * 4;
  const iBlock = Math.max(
    1,
    Math.min(
      M,
      Math.floor(maxBind / Math.max(2 * rowBytes(0), outRow)),
      65535 * 65535,
      blockRows[0],
    ),
  );
  // On software adapters, blocks of j hold at most SOFTWARE_J_FLOATS floats per j-variable:
  // llvmpipe (Mesa with LLVM 15) was seen to read wrong j-rows past about 2^15 floats of one
  // binding when the rows are wide (D = 48 … 512; the "wide rows" test of
  // tests/lazy/genred_test.ts reproduces it), and blocks of j restart the indices at 0. The
  // accumulators carry over between blocks as usual.
  const widestJ = shader.slots.reduce((a, s) => Math.max(a, s.cat === 1 ? s.dim : 1), 1);
  const softCap = info.fallback ? Math.floor(SOFTWARE_J_FLOATS / widestJ) : Infinity;
  const jRoom = maxBind - iBlock * rowBytes(0) - pmBytes;
  const jBlock = Math.max(
    1,
    Math.min(N, Math.floor(jRoom / Math.max(4, rowBytes(1))), blockRows[1], softCap),
  );
  if (jRoom < rowBytes(1) || pmBytes > maxBind / 2) {
    throw new UnsupportedError(
      `The variables of this formula need more than the ${maxBind} bytes of one GPU storage binding per row: use backend "cpu"`,
    );
  }

  device.pushErrorScope("validation");
  const pipeline = pipelineFor(device, shader.code);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const buffer = (bytes: number, u = usage) =>
    device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage: u });
  // Slot q occupies floats [base[q], base[q] + rows·dim) of the one input buffer.
  const base: number[] = [];
  let floats = 0;
  for (const s of shader.slots) {
    base.push(floats);
    floats += (s.cat === 0 ? Math.min(iBlock, M) : s.cat === 1 ? Math.min(jBlock, N) : 1) * s.dim;
  }
  const cbase = floats;
  floats += shader.constants.length;
  const inBuf = buffer(floats * 4);
  // (Deno's writeBuffer panics on empty data.)
  if (shader.constants.length) {
    device.queue.writeBuffer(inBuf, cbase * 4, Float32Array.from(shader.constants));
  }
  const outv = buffer(Math.min(iBlock, M) * Math.max(1, shader.valuesWidth) * 4);
  const outi = buffer(Math.min(iBlock, M) * Math.max(1, shader.indicesWidth) * 4);
  const accb = buffer(N > jBlock ? Math.min(iBlock, M) * shader.accSize * 4 : 16);
  const uniform = buffer(
    32 + 16 * Math.max(1, Math.ceil(shader.slots.length / 4)),
    GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  );
  const vBytes = nb * M * shader.valuesWidth * 4, iBytes = nb * M * shader.indicesWidth * 4;
  // The outputs: mappable staging buffers, or storage buffers left on the device for the caller.
  const resultUsage = inp.keepOnDevice ? usage : GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
  const readV = shader.valuesWidth && kern.values ? buffer(vBytes, resultUsage) : undefined;
  const readI = shader.indicesWidth && kern.indices ? buffer(iBytes, resultUsage) : undefined;
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [uniform, inBuf, outv, outi, accb].map((b, k) => ({ binding: k, resource: { buffer: b } })),
  });
  const offs = shader.slots.map((s) => batchOffsets(inp.slots.get(s.ind)!, inp.batch));
  const kept: (GPUBuffer | undefined)[] = [];
  const upload = (q: number, b: number, row0: number, rows: number) => {
    const s = shader.slots[q], slot = inp.slots.get(s.ind)!;
    const o = offs[q][b] + row0 * s.dim;
    if (slot.gpu) {
      // Data already on the GPU: a copy on the device, no trip through host memory.
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(slot.gpu, o * 4, inBuf, base[q] * 4, rows * s.dim * 4);
      device.queue.submit([enc.finish()]);
      return;
    }
    const src = slot.data.subarray(o, o + rows * s.dim);
    device.queue.writeBuffer(
      inBuf,
      base[q] * 4,
      (src instanceof Float32Array ? src : Float32Array.from(src)) as Float32Array<ArrayBuffer>,
    );
  };
  try {
    for (let b = 0; b < nb; b++) {
      shader.slots.forEach((s, q) => s.cat === 2 && upload(q, b, 0, 1));
      for (let i0 = 0; i0 < M; i0 += iBlock) {
        const ib = Math.min(iBlock, M - i0);
        shader.slots.forEach((s, q) => s.cat === 0 && upload(q, b, i0, ib));
        for (let j0 = 0; j0 < N; j0 += jBlock) {
          const jb = Math.min(jBlock, N - j0);
          if (N > jBlock || j0 === 0) shader.slots.forEach((s, q) => s.cat === 1 && upload(q, b, j0, jb));
          const flags = (j0 === 0 ? 1 : 0) | (j0 + jb >= N ? 2 : 0);
          const u = new ArrayBuffer(32 + 16 * Math.max(1, Math.ceil(shader.slots.length / 4)));
          new Uint32Array(u, 0, 4).set([ib, jb, j0, flags]);
          new Float32Array(u, 16, 1)[0] = Infinity;
          // NaN's bits (no WGSL literal or constant gives NaN), and where the constants start.
          new Uint32Array(u, 20, 2).set([0x7fc00000, cbase]);
          new Uint32Array(u, 32, base.length).set(base);
          device.queue.writeBuffer(uniform, 0, u);
          const enc = device.createCommandEncoder();
          const pass = enc.beginComputePass();
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bind);
          const groups = Math.ceil(ib / wg);
          pass.dispatchWorkgroups(Math.min(groups, 65535), Math.ceil(groups / 65535));
          pass.end();
          if (flags & 2) {
            const row = b * M + i0;
            if (readV) {
              enc.copyBufferToBuffer(
                outv,
                0,
                readV,
                row * shader.valuesWidth * 4,
                ib * shader.valuesWidth * 4,
              );
            }
            if (readI) {
              enc.copyBufferToBuffer(
                outi,
                0,
                readI,
                row * shader.indicesWidth * 4,
                ib * shader.indicesWidth * 4,
              );
            }
          }
          device.queue.submit([enc.finish()]);
        }
      }
    }
    const error = await device.popErrorScope();
    if (error) {
      throw new UnsupportedError(
        `The WebGPU device rejected this formula's shader or dispatch (${error.message}): use backend "cpu"`,
      );
    }
    if (inp.keepOnDevice) {
      kept.push(readV, readI);
      return { device: { values: readV, indices: readI } };
    }
    const values = readV ? await readBack(readV, kern.values, shader.valuesWidth, nb * M, "f32") : undefined;
    const indices = readI
      ? await readBack(readI, kern.indices, shader.indicesWidth, nb * M, "i32")
      : undefined;
    return {
      values: kern.values ? values as Float64Array : undefined,
      indices: kern.indices ? indices as Int32Array : undefined,
    };
  } finally {
    for (const buf of [inBuf, outv, outi, accb, uniform, readV, readI]) {
      if (!kept.includes(buf)) buf?.destroy();
    }
  }
}

async function readBack(buf: GPUBuffer, width: number, stride: number, rows: number, kind: "f32" | "i32") {
  await buf.mapAsync(GPUMapMode.READ);
  const raw = buf.getMappedRange();
  const src = kind === "f32" ? new Float32Array(raw) : new Int32Array(raw);
  const out = kind === "f32" ? new Float64Array(rows * width) : new Int32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < width; k++) out[r * width + k] = src[r * stride + k];
  }
  buf.unmap();
  return out;
}

function collectJ(plan: ReducePlan): number[] {
  const dims = new Map<number, number>();
  for (const v of variablesOf(...plan.formulas)) {
    if (v.params[2] === 1) dims.set(v.params[0] as number, v.dim);
  }
  return [...dims.values()];
}

/**
 * The WebGPU engine as a backend.
 *
 * @example
 * ```ts
 * import { webgpuBackend } from "./engine.ts";
 * console.assert(webgpuBackend().name === "gpu");
 * ```
 */
export function webgpuBackend(): Backend {
  return {
    name: "gpu",
    compile(plan: ReducePlan): CompiledReduction {
      return { run: (inputs) => run(plan, inputs) };
    },
  };
}
