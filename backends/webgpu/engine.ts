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
  type BlockRanges,
  type CompiledReduction,
  rangeItems,
  rangePieces,
  type ReduceInputs,
  type ReduceOutput,
  type ReducePlan,
  sizeOf,
} from "../backend.ts";
import { UnsupportedError } from "../../formula/errors.ts";
import { variablesOf } from "../../formula/tree.ts";
import { generate, type Layout, type Shader } from "./codegen.ts";
import {
  chooseScheme,
  forcedScheme,
  packTerms,
  SOFTWARE_LOOP_ITERATIONS,
  TILE,
  WORKGROUP,
} from "./scheme.ts";
import { generateMerge } from "./merge.ts";
import { gpuRounds, type Round } from "./ranges.ts";
import { giveBuffer, takeBuffer } from "./buffers.ts";
import { LruMap } from "../lru.ts";
import { deviceNow, gpuDevice } from "./device.ts";
import { deviceHelpers } from "./helpers.ts";
import { runAsync, runSync, type Steps, wait } from "../steps.ts";

/** Pipelines per device, by shader source: the most recently used (a bounded cache). */
const pipelines = new WeakMap<GPUDevice, LruMap<string, GPUComputePipeline>>();
const PIPELINES_KEPT = 256;
/** Generated shaders kept per plan (one per layout its calls have needed). */
const SHADERS_KEPT = 8;
let stats = { compiled: 0, cached: 0, compileMs: 0 };

let traffic = { uploaded: 0, readBack: 0 };
/**
 * Bytes of inputs written from the host and of results read back, since the start.
 *
 * @example
 * ```ts
 * import { gpuTraffic } from "./engine.ts";
 * import assert from "node:assert/strict";
 * const { uploaded, readBack } = gpuTraffic();
 * assert.ok(uploaded >= 0 && readBack >= 0);
 * ```
 */
export function gpuTraffic(): { uploaded: number; readBack: number } {
  return { ...traffic };
}

/**
 * How many pipelines were compiled, how many calls found theirs in the cache, and the
 * milliseconds spent creating shader modules and pipelines (the drivers' compilation).
 */
export function pipelineStats(): { compiled: number; cached: number; compileMs: number } {
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
  const t0 = performance.now();
  const module = device.createShaderModule({ code });
  const p = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
  cache.set(code, p);
  stats = { ...stats, compiled: stats.compiled + 1, compileMs: stats.compileMs + performance.now() - t0 };
  return p;
}

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

/**
 * A run, asynchronous or (`sync`) synchronous. A synchronous run needs the device already
 * open or injected (`setDevice`, as the TensorFlow.js entry does with its backend's device) and
 * leaves its outputs on the device, since reading a GPU buffer back is asynchronous in WebGPU;
 * the device's validation errors then arrive later, and are thrown by the next call.
 */
function* gpuSteps(
  plan: ReducePlan,
  inp: ReduceInputs,
  generated: LruMap<string, Shader>,
  sync: boolean,
): Steps<ReduceOutput> {
  if (plan.dtype === "float64") {
    throw new UnsupportedError(
      'Float64 is not supported by the "gpu" backend (WGSL has no 64-bit floats): use backend "cpu", or "auto", which sends float64 to the CPU',
    );
  }
  if (sync && !inp.keepOnDevice) {
    throw new UnsupportedError(
      'The "gpu" backend reads its results back asynchronously: await the call, or leave the results on the GPU',
    );
  }
  if (lateError) {
    const e = lateError;
    lateError = undefined;
    throw e;
  }
  const info = sync ? deviceNow() : yield* wait(gpuDevice());
  if (!info) {
    throw new UnsupportedError(
      'The "gpu" backend found no WebGPU adapter here: use backend "cpu", or inject a device with setDevice',
    );
  }
  const device = info.device;
  const lim = device.limits;
  const wg = Math.min(WORKGROUP, lim.maxComputeInvocationsPerWorkgroup, lim.maxComputeWorkgroupSizeX);
  // The j-variables staged through workgroup memory, narrowest first, as long as a tile holds
  // 8 terms; the others are read from the input buffer at use.
  const room = Math.floor(lim.maxComputeWorkgroupStorageSize / 4 / 8);
  const chosen: { q: number; dim: number }[] = [];
  for (const [q, dim] of collectJ(plan).sort((a, b) => a[1] - b[1])) {
    if (4 * packTerms([...chosen, { q, dim }]).width <= room) chosen.push({ q, dim });
  }
  const staged = new Set(chosen.map((c) => c.q));
  const jDims = chosen.length ? 4 * packTerms(chosen).width : 0;
  let tile = Math.max(
    1,
    Math.min(TILE, Math.floor(lim.maxComputeWorkgroupStorageSize / 4 / Math.max(1, jDims))),
  );
  const nb = sizeOf(inp.batch), M = inp.M, N = inp.N;
  const ranges = inp.ranges, ranged = !!ranges;
  // The shaders of this plan, by layout: generated once, not at every call.
  const shaderFor = (layout: Layout) => {
    const full = { ...layout, ranged };
    const key = JSON.stringify({ ...full, staged: [...staged] });
    let sh = generated.get(key);
    if (!sh) generated.set(key, sh = generate(plan, full));
    return sh;
  };
  let probe = shaderFor({ workgroupSize: wg, tile, rows: 1, staged });
  // On a software adapter one tile of terms must fit in the loop-visit cap.
  const fits = (s: typeof probe, t: number) =>
    s.visits.fixed + s.visits.tile + t * s.visits.term <= SOFTWARE_LOOP_ITERATIONS;
  if (info.fallback && !fits(probe, tile)) {
    const v = probe.visits;
    tile = Math.floor((SOFTWARE_LOOP_ITERATIONS - v.fixed - v.tile) / v.term);
    if (tile < 1) {
      throw new UnsupportedError(
        `This formula makes ${v.term} loop iterations per term, more than the software GPU adapter allows: use backend "cpu"`,
      );
    }
    probe = shaderFor({ workgroupSize: wg, tile, rows: 1, staged });
  }
  // Block-sparse: a workgroup per piece of rows, so pieces of the smallest workgroup with 8 rows
  // per invocation (fewer rows for blocks of fewer than 16): blocks of a few hundred rows then
  // leave few invocations idle, and each value loaded serves 8 rows (measured on llvmpipe at
  // 40 and 130 rows per block: better than pieces fitted to the typical block); no chunks of j.
  const [typicalRows, typicalTerms] = ranges ? typicalBlock(ranges, M) : [M, N];
  const schemeM = ranges && typicalRows >= 16 ? 8 * Math.min(wg, info.fallback ? 8 : 32) : typicalRows;
  const schemeN = typicalTerms;
  let scheme = chooseScheme(
    schemeM,
    schemeN,
    tile,
    probe.privateFloats,
    probe.pairStatements,
    info.fallback,
    wg,
  );
  if (ranged) scheme = { ...scheme, chunks: 1 };
  let shader = scheme.rows === 1 && scheme.workgroupSize === wg
    ? probe
    : shaderFor({ workgroupSize: scheme.workgroupSize, tile, rows: scheme.rows, staged });
  if (info.fallback && !fits(shader, tile)) {
    // Rows blocked multiply the loops of wide formulas: one row per invocation then.
    [shader, scheme] = [probe, { ...scheme, rows: 1, workgroupSize: wg }];
  }
  const R = scheme.rows, wgs = scheme.workgroupSize;
  const kern = plan.reduction.kernel(plan.dims);
  const maxBind = lim.maxStorageBufferBindingSize;
  // The inputs share one binding: half of it for the rows of i, the rest for the terms j.
  const rowBytes = (cat: number) =>
    shader.slots.filter((s) => s.cat === cat).reduce((a, s) => a + s.dim * 4, 0);
  const pmBytes = rowBytes(2) + shader.constants.length * 4; // parameters and constants: once
  const accRow = shader.accSize * 4 * Math.max(1, scheme.chunks);
  const outRow = Math.max(shader.valuesWidth, shader.indicesWidth, 1) * 4;
  const iBlock = Math.max(
    1,
    Math.min(
      M,
      Math.floor(maxBind / Math.max(2 * rowBytes(0), outRow, accRow)),
      65535 * wgs * R,
      blockRows[0],
    ),
  );
  // Per chunk and dispatch, at most SOFTWARE_LOOP_ITERATIONS of any loop on software adapters.
  const v = shader.visits;
  const loopCap = info.fallback
    ? Math.max(
      tile,
      Math.floor((SOFTWARE_LOOP_ITERATIONS - v.fixed) / (v.term + v.tile / tile) / tile) * tile,
    )
    : Infinity;
  // Split j (few rows): on a software adapter, into as many chunks as one dispatch needs for
  // all the terms under the cap (one pass, more tasks to balance), as the partials allow.
  const wanted = scheme.chunks > 1 && !forcedScheme()?.chunks
    ? Math.max(scheme.chunks, Math.ceil(N / loopCap))
    : scheme.chunks;
  const chunks = Math.max(
    1,
    Math.min(wanted, Math.floor(maxBind / (Math.min(iBlock, M) * shader.accSize * 4))),
  );
  const jRoom = maxBind - iBlock * rowBytes(0) - pmBytes;
  // (Ranged shaders spread a piece's terms over rounds of dispatches instead of the cap.)
  const jBlock = Math.max(
    1,
    Math.min(
      N,
      Math.floor(jRoom / Math.max(4, rowBytes(1))),
      blockRows[1],
      ranged ? Infinity : loopCap * chunks,
    ),
  );
  if (jRoom < rowBytes(1) || pmBytes > maxBind / 2) {
    throw new UnsupportedError(
      `The variables of this formula need more than the ${maxBind} bytes of one GPU storage binding per row: use backend "cpu"`,
    );
  }

  device.pushErrorScope("validation");
  const pipeline = pipelineFor(device, shader.code);
  const idxCount = shader.indicesWidth
    ? (shader.family.fam === "kmin" ? plan.dims.K * plan.dims.D : plan.dims.D)
    : 0;
  const merger = chunks > 1
    ? pipelineFor(
      device,
      generateMerge(
        shader.family,
        plan.dims,
        shader.accSize,
        idxCount,
        shader.valuesWidth,
        shader.indicesWidth,
        wg,
      ),
    )
    : undefined;
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const taken: GPUBuffer[] = [];
  const buffer = (bytes: number, u = usage) => {
    const b = takeBuffer(device, Math.max(16, Math.ceil(bytes / 4) * 4), u);
    taken.push(b);
    return b;
  };
  // Slot q occupies floats [base[q], base[q] + rows·dim) of the one input buffer.
  const base: number[] = [];
  let floats = 0;
  for (const s of shader.slots) {
    floats = Math.ceil(floats / 4) * 4; // every slot vec4-aligned
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
  const ibRows = Math.min(iBlock, M);
  const outv = buffer(ibRows * Math.max(1, shader.valuesWidth) * 4);
  const outi = buffer(ibRows * Math.max(1, shader.indicesWidth) * 4);
  // The accumulators: carried between blocks of j (one chunk), or the chunks' partials.
  const accb = buffer(
    chunks > 1 ? chunks * ibRows * shader.accSize * 4 : N > jBlock ? ibRows * shader.accSize * 4 : 16,
  );
  const carry = chunks > 1 ? buffer(N > jBlock ? ibRows * shader.accSize * 4 : 16) : undefined;
  const uniBytes = 32 + 16 * Math.max(1, Math.ceil(shader.slots.length / 4));
  const uniform = buffer(uniBytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  const mUniform = merger ? buffer(32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST) : undefined;
  const vBytes = nb * M * shader.valuesWidth * 4, iBytes = nb * M * shader.indicesWidth * 4;
  // The outputs: mappable staging buffers, or storage buffers left on the device for the caller.
  const resultUsage = inp.keepOnDevice ? usage : GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
  const result = (bytes: number) =>
    inp.keepOnDevice
      ? device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage: resultUsage })
      : buffer(bytes, resultUsage);
  const readV = shader.valuesWidth && kern.values ? result(vBytes) : undefined;
  const readI = shader.indicesWidth && kern.indices ? result(iBytes) : undefined;
  // Block-sparse: the rounds of each pair of blocks, and one table buffer for the largest.
  const roundsOf = ranges
    ? rangedRounds(
      ranges,
      M,
      N,
      iBlock,
      jBlock,
      wgs * R,
      (n) => Math.ceil(n / tile) * v.tile + n * v.term + 2,
      info.fallback ? SOFTWARE_LOOP_ITERATIONS - v.fixed : Infinity,
    )
    : [];
  const rngBuf = ranges ? buffer(4 * Math.max(4, ...roundsOf.flat(2).map((r) => r.table.length))) : undefined;
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [uniform, inBuf, outv, outi, accb, inBuf, ...(rngBuf ? [rngBuf] : [])].map((b, k) => ({
      binding: k,
      resource: { buffer: b },
    })),
  });
  const mBind = merger && mUniform && carry
    ? device.createBindGroup({
      layout: merger.getBindGroupLayout(0),
      entries: [mUniform, accb, outv, outi, carry].map((b, k) => ({ binding: k, resource: { buffer: b } })),
    })
    : undefined;
  const offs = shader.slots.map((s) => batchOffsets(inp.slots.get(s.ind)!, inp.batch));
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
    traffic = { ...traffic, uploaded: traffic.uploaded + src.length * 4 };
    device.queue.writeBuffer(
      inBuf,
      base[q] * 4,
      (src instanceof Float32Array ? src : Float32Array.from(src)) as Float32Array<ArrayBuffer>,
    );
  };
  /** Writes the shader's uniform Params: m, n, jbase, flags, ∞, NaN, cbase, clen, the slots' offsets. */
  const writeParams = (m: number, n: number, jbase: number, flags: number, clen: number) => {
    const u = new ArrayBuffer(uniBytes);
    new Uint32Array(u, 0, 4).set([m, n, jbase, flags]);
    new Float32Array(u, 16, 1)[0] = Infinity;
    // NaN's bits (no WGSL literal or constant gives NaN), where the constants start, and the
    // terms per chunk.
    new Uint32Array(u, 20, 3).set([0x7fc00000, cbase, clen]);
    new Uint32Array(u, 32, base.length).set(base);
    device.queue.writeBuffer(uniform, 0, u);
  };
  /** Copies the outputs of a block of rows (from `row` on) to the result buffers. */
  const copyOut = (row: number, ib: number) => {
    const enc = device.createCommandEncoder();
    if (readV) {
      enc.copyBufferToBuffer(outv, 0, readV, row * shader.valuesWidth * 4, ib * shader.valuesWidth * 4);
    }
    if (readI) {
      enc.copyBufferToBuffer(outi, 0, readI, row * shader.indicesWidth * 4, ib * shader.indicesWidth * 4);
    }
    device.queue.submit([enc.finish()]);
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
          if (rngBuf) {
            for (const round of roundsOf[i0 / iBlock][j0 / jBlock]) {
              device.queue.writeBuffer(rngBuf, 0, round.table as Uint32Array<ArrayBuffer>);
              // (Ranged shaders read n as the count of pieces, clen as where the intervals start.)
              writeParams(ib, round.pieces, j0, 0, 5 * round.pieces);
              const enc = device.createCommandEncoder();
              const pass = enc.beginComputePass();
              pass.setPipeline(pipeline);
              pass.setBindGroup(0, bind);
              pass.dispatchWorkgroups(Math.min(round.pieces, 65535), Math.ceil(round.pieces / 65535));
              pass.end();
              device.queue.submit([enc.finish()]);
            }
            if (j0 + jb >= N) copyOut(b * M + i0, ib);
            continue;
          }
          const flags = (j0 === 0 ? 1 : 0) | (j0 + jb >= N ? 2 : 0);
          // Chunks of whole tiles; the last may be short, or empty when jb is small.
          const clen = chunks > 1 ? Math.ceil(jb / chunks / tile) * tile : jb;
          writeParams(ib, jb, j0, chunks > 1 ? 4 : flags, clen);
          const enc = device.createCommandEncoder();
          const pass = enc.beginComputePass();
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bind);
          pass.dispatchWorkgroups(Math.ceil(ib / (wgs * R)), chunks);
          if (merger && mBind && mUniform) {
            const mu = new ArrayBuffer(32);
            new Uint32Array(mu, 0, 4).set([ib, chunks, flags, 0]);
            new Float32Array(mu, 16, 1)[0] = Infinity;
            new Uint32Array(mu, 20, 1)[0] = 0x7fc00000;
            device.queue.writeBuffer(mUniform, 0, mu);
            pass.setPipeline(merger);
            pass.setBindGroup(0, mBind);
            const groups = Math.ceil(ib / wg);
            pass.dispatchWorkgroups(Math.min(groups, 65535), Math.ceil(groups / 65535));
          }
          pass.end();
          device.queue.submit([enc.finish()]);
          if (flags & 2) copyOut(b * M + i0, ib);
        }
      }
    }
    const rejected = (error: GPUError | null) =>
      error &&
      new UnsupportedError(
        `The WebGPU device rejected this formula's shader or dispatch (${error.message}): use backend "cpu"`,
      );
    if (sync) {
      device.popErrorScope().then((e) => (lateError ??= rejected(e) || undefined), () => {});
    } else {
      const error = rejected(yield* wait(device.popErrorScope()));
      if (error) throw error;
    }
    if (inp.keepOnDevice) return { device: { values: readV, indices: readI } };
    const values = readV
      ? yield* wait(readBack(readV, kern.values, shader.valuesWidth, nb * M, "f32"))
      : undefined;
    const indices = readI
      ? yield* wait(readBack(readI, kern.indices, shader.indicesWidth, nb * M, "i32"))
      : undefined;
    return {
      values: kern.values ? values as Float64Array : undefined,
      indices: kern.indices ? indices as Int32Array : undefined,
    };
  } finally {
    for (const buf of taken) giveBuffer(device, buf);
  }
}

/** A device error of a synchronous run, reported by the next call. */
let lateError: UnsupportedError | undefined;

async function readBack(buf: GPUBuffer, width: number, stride: number, rows: number, kind: "f32" | "i32") {
  await buf.mapAsync(GPUMapMode.READ, 0, Math.max(4, rows * stride * 4));
  traffic = { ...traffic, readBack: traffic.readBack + rows * stride * 4 };
  const raw = buf.getMappedRange(0, Math.max(4, rows * stride * 4));
  const src = kind === "f32" ? new Float32Array(raw) : new Int32Array(raw);
  const out = kind === "f32" ? new Float64Array(rows * width) : new Int32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < width; k++) out[r * width + k] = src[r * stride + k];
  }
  buf.unmap();
  return out;
}

/** Rows and terms of a typical block of ranges (their means over the blocks, at least one). */
function typicalBlock(r: BlockRanges, M: number): [number, number] {
  const blocks = Math.max(1, r.slices.length);
  let rows = 0, terms = 0;
  for (let k = 0; k < r.slices.length; k++) rows += r.rows[2 * k + 1] - r.rows[2 * k];
  for (let s = 0; s < r.terms.length / 2; s++) terms += r.terms[2 * s + 1] - r.terms[2 * s];
  return [Math.max(1, Math.min(M, Math.round(rows / blocks))), Math.max(1, Math.round(terms / blocks))];
}

/** The rounds of a block-sparse run, for each block of rows and each block of terms. */
function rangedRounds(
  r: BlockRanges,
  M: number,
  N: number,
  iBlock: number,
  jBlock: number,
  maxRows: number,
  cost: (n: number) => number,
  budget: number,
): Round[][][] {
  const pieces = rangePieces(r, M, maxRows);
  const out: Round[][][] = [];
  for (let i0 = 0; i0 < M; i0 += iBlock) {
    const row: Round[][] = [];
    for (let j0 = 0; j0 < N; j0 += jBlock) {
      const items = rangeItems(
        r,
        i0,
        Math.min(iBlock, M - i0),
        j0,
        Math.min(jBlock, N - j0),
        N,
        maxRows,
        pieces,
      );
      row.push(gpuRounds(items, cost, budget));
    }
    out.push(row);
  }
  return out;
}

/** The j-variables of a plan: [index, dimension]. */
function collectJ(plan: ReducePlan): [number, number][] {
  const dims = new Map<number, number>();
  for (const v of variablesOf(...plan.formulas)) {
    if (v.params[2] === 1) dims.set(v.params[0] as number, v.dim);
  }
  return [...dims];
}

/**
 * The WebGPU engine as a backend.
 *
 * @example
 * ```ts
 * import { webgpuBackend } from "./engine.ts";
 * import assert from "node:assert/strict";
 * assert.ok(webgpuBackend().name === "gpu");
 * ```
 */
export function webgpuBackend(): Backend {
  return {
    name: "gpu",
    device: deviceHelpers(),
    compile(plan: ReducePlan): CompiledReduction {
      const generated = new LruMap<string, Shader>(SHADERS_KEPT);
      return {
        run: (inputs) => runAsync(gpuSteps(plan, inputs, generated, false)),
        runSync: (inputs) => runSync(gpuSteps(plan, inputs, generated, true)),
      };
    },
  };
}
