/**
 * A pool of GPU buffers per device, so that repeated calls reuse their buffers instead of
 * creating and destroying them each time (buffer creation is a driver call, and on some
 * drivers a page-zeroing one). Buffers are kept by usage and by size class (powers of two from
 * 256 bytes), up to `POOL_BYTES` per device; the least recently returned go first.
 *
 * @module
 */

/** The most bytes of idle buffers kept per device. */
const POOL_BYTES = 256 * 2 ** 20;

interface Pool {
  free: Map<string, GPUBuffer[]>;
  order: GPUBuffer[];
  bytes: number;
}

const pools = new WeakMap<GPUDevice, Pool>();

/** The size class of a request: a power of two, or the size itself past the binding limit. */
function sizeClass(device: GPUDevice, bytes: number): number {
  const p = Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(1, bytes))));
  return p <= device.limits.maxStorageBufferBindingSize ? p : Math.ceil(bytes / 16) * 16;
}

/**
 * A buffer of at least `bytes` bytes with this usage, from the pool or new.
 *
 * @example
 * ```ts ignore
 * import { giveBuffer, takeBuffer } from "./buffers.ts";
 * const b = takeBuffer(device, 1000, GPUBufferUsage.STORAGE);
 * giveBuffer(device, b); // back to the pool
 * ```
 */
export function takeBuffer(device: GPUDevice, bytes: number, usage: number): GPUBuffer {
  const size = sizeClass(device, bytes);
  const pool = pools.get(device);
  const list = pool?.free.get(`${usage}:${size}`);
  const hit = list?.pop();
  if (hit && pool) {
    pool.order.splice(pool.order.indexOf(hit), 1);
    pool.bytes -= hit.size;
    return hit;
  }
  return device.createBuffer({ size, usage });
}

/** Returns a buffer to the pool (unmapped), destroying the oldest idle ones past the budget. */
export function giveBuffer(device: GPUDevice, buf: GPUBuffer): void {
  let pool = pools.get(device);
  if (!pool) pools.set(device, pool = { free: new Map(), order: [], bytes: 0 });
  const key = `${buf.usage}:${buf.size}`;
  const list = pool.free.get(key) ?? [];
  list.push(buf);
  pool.free.set(key, list);
  pool.order.push(buf);
  pool.bytes += buf.size;
  while (pool.bytes > POOL_BYTES && pool.order.length) {
    const old = pool.order.shift()!;
    const l = pool.free.get(`${old.usage}:${old.size}`)!;
    l.splice(l.indexOf(old), 1);
    pool.bytes -= old.size;
    old.destroy();
  }
}
