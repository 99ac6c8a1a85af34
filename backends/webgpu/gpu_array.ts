/**
 * Arrays that live on the GPU: `toGpu` uploads an array once, calls accept the result as an
 * argument (the engine then copies on the device, never through host memory), and
 * `{ output: "gpu" }` leaves a result on the GPU, so iterative algorithms chain reductions
 * without round trips. `fromGpu` reads one back.
 *
 * @module
 */

import { gpuDevice } from "./device.ts";
import { checkShape, type HostArray as NDArray } from "../backend.ts";

/** A float32 (or, for indices, int32) array in a GPU buffer, row-major. */
export interface GpuArray {
  /** The buffer holding the values (a storage buffer, offset 0). */
  readonly buffer: GPUBuffer;
  /** The shape, row-major. */
  readonly shape: readonly number[];
  /** The element type. */
  readonly dtype: "float32" | "int32";
}

/** Whether a value is a `GpuArray`. */
export function isGpuArray(x: unknown): x is GpuArray {
  return typeof x === "object" && x !== null && "buffer" in x && "shape" in x &&
    typeof (x as { buffer: { mapAsync?: unknown } }).buffer?.mapAsync === "function";
}

async function device(): Promise<GPUDevice> {
  const info = await gpuDevice();
  if (!info) throw new TypeError("There is no WebGPU device here: GPU arrays need one (or setDevice)");
  return info.device;
}

/** A GPU buffer holding `data` (storage, copy source and destination). */
export async function uploadBuffer(data: Float32Array | Int32Array): Promise<GPUBuffer> {
  const d = await device();
  const buf = d.createBuffer({
    size: Math.max(16, Math.ceil(data.byteLength / 4) * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  d.queue.writeBuffer(buf, 0, data as Float32Array<ArrayBuffer>);
  return buf;
}

/**
 * Uploads an array to the GPU (float32).
 *
 * @example
 * ```ts
 * import { fromGpu, toGpu } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const g = await toGpu({ data: Float32Array.of(1, 2, 3, 4), shape: [2, 2] });
 *   assert.deepEqual(g.shape, [2, 2]);
 *   assert.deepEqual(Array.from((await fromGpu(g)).data), [1, 2, 3, 4]);
 * }
 * ```
 */
export async function toGpu(a: NDArray): Promise<GpuArray> {
  const ok = typeof a === "object" && a !== null &&
    (a.data instanceof Float32Array || a.data instanceof Float64Array || a.data instanceof Int32Array);
  if (ok) checkShape(a.shape, "argument of toGpu");
  if (!ok || a.shape.reduce((x, y) => x * y, 1) !== a.data.length) {
    throw new TypeError(
      `The argument of toGpu must be an NDArray ({ data: Float32Array | Float64Array | Int32Array, shape } of matching size), got ${
        a === null ? "null" : typeof a
      }`,
    );
  }
  const data = a.data instanceof Int32Array
    ? a.data
    : a.data instanceof Float32Array
    ? a.data
    : Float32Array.from(a.data);
  return {
    buffer: await uploadBuffer(data),
    shape: [...a.shape],
    dtype: data instanceof Int32Array ? "int32" : "float32",
  };
}

/**
 * Reads a GPU array back into host memory.
 *
 * @example
 * ```ts
 * import { fromGpu, Genred, type GpuArray, toGpu } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * if (await navigator.gpu?.requestAdapter()) {
 *   const x = await toGpu({ data: Float32Array.of(1, 2), shape: [2, 1] });
 *   const s = (await Genred("x*y", ["x = Vi(1)", "y = Vj(1)"], { axis: 1 })(x, [[3]], { backend: "gpu", output: "gpu" })) as unknown as GpuArray;
 *   assert.deepEqual(Array.from((await fromGpu(s)).data), [3, 6]); // x_i · 3, left on the GPU until read
 * }
 * ```
 */
export async function fromGpu(a: GpuArray): Promise<NDArray> {
  if (isGpuArray(a)) checkShape(a.shape, "argument of fromGpu");
  else {
    throw new TypeError(
      `The argument of fromGpu must be a GpuArray (from toGpu or a call with output "gpu"), got ${
        a === null ? "null" : typeof a
      }`,
    );
  }
  const d = await device();
  const n = a.shape.reduce((x, y) => x * y, 1);
  const read = d.createBuffer({
    size: Math.max(16, n * 4),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = d.createCommandEncoder();
  if (n > 0) enc.copyBufferToBuffer(a.buffer, 0, read, 0, n * 4);
  d.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const raw = read.getMappedRange().slice(0, n * 4);
  read.unmap();
  read.destroy();
  return { data: a.dtype === "int32" ? new Int32Array(raw) : new Float32Array(raw), shape: [...a.shape] };
}
