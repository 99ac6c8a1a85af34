/**
 * The GPU device of the WebGPU engine: `navigator.gpu` where there is one (Deno, browsers), or
 * a device the application injects (`setDevice`: Bun with bun-webgpu, Node with webgpu). A lost
 * device is reported once and replaced on the next call.
 *
 * @module
 */

import { checkOptions, UnsupportedError } from "../../formula/errors.ts";

/** The device and what "auto" needs to know of its adapter. */
export interface DeviceInfo {
  readonly device: GPUDevice;
  /** Whether the adapter is a software fallback (lavapipe, SwiftShader): "auto" avoids it. */
  readonly fallback: boolean;
  readonly description: string;
}

let injected: DeviceInfo | undefined;
let current: Promise<DeviceInfo | undefined> | undefined;
let lostReason: string | undefined;
let inUse: GPUDevice | undefined;

/**
 * Uses this device for the "gpu" backend (or, with `undefined`, goes back to `navigator.gpu`).
 *
 * @example
 * ```ts
 * import { setDevice } from "@keops-ts/keops";
 * setDevice(undefined); // back to navigator.gpu
 * ```
 */
export function setDevice(device: GPUDevice | undefined, options: { fallback?: boolean } = {}): void {
  // Checked before anything changes: a bad argument leaves the current device in place.
  const d = device as unknown as Record<string, unknown> | undefined;
  if (
    d !== undefined &&
    (typeof d !== "object" || d === null || typeof d.createBuffer !== "function" || !d.queue)
  ) {
    throw new TypeError(
      `The device given to setDevice must be a GPUDevice or undefined, got ${d === null ? "null" : typeof d}`,
    );
  }
  checkOptions(options, ["fallback"], "setDevice");
  injected = device
    ? { device, fallback: options.fallback ?? false, description: "injected device" }
    : undefined;
  current = undefined;
  inUse = undefined;
  if (device) watch(device);
}

/** On loss, the next call reports it once, then opens a new device (navigator.gpu's). */
function watch(device: GPUDevice) {
  inUse = device;
  device.lost.then((l) => {
    if (device !== inUse) return; // a device we no longer use: nothing to report
    if (injected?.device === device) injected = undefined;
    inUse = undefined;
    lostReason = l.message || String(l.reason);
    current = undefined;
  });
}

async function open(): Promise<DeviceInfo | undefined> {
  if (injected) return injected;
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return undefined;
  const adapter = await gpu.requestAdapter();
  if (!adapter) return undefined;
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const fallback = Boolean(
    info?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter,
  );
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
    },
  });
  watch(device);
  return { device, fallback, description: info?.description || info?.device || "GPU" };
}

let probe: Promise<boolean> | undefined;

/**
 * Whether the GPU here is a hardware adapter, for "auto": the injected device's, the open
 * device's, or else the adapter's own flag, read without opening a device (a software adapter
 * that "auto" will not use costs no device).
 *
 * @example
 * ```ts
 * import { hardwareAdapter } from "./device.ts";
 * import assert from "node:assert/strict";
 * assert.ok(typeof (await hardwareAdapter()) === "boolean");
 * ```
 */
export function hardwareAdapter(): Promise<boolean> {
  if (injected) return Promise.resolve(!injected.fallback);
  if (current) return current.then((d) => !!d && !d.fallback, () => false);
  probe ??= (async () => {
    const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
    const adapter = await gpu?.requestAdapter();
    if (!adapter) return false;
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    return !(info?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter);
  })().catch(() => false);
  return probe;
}

/** The device, opened on first use; undefined when this runtime has no WebGPU adapter. */
export function gpuDevice(): Promise<DeviceInfo | undefined> {
  if (lostReason !== undefined) {
    const why = lostReason;
    lostReason = undefined;
    current = undefined;
    return Promise.reject(new Error(`The GPU device was lost (${why}); the next call opens a new one`));
  }
  current ??= open();
  return current;
}

/**
 * The device of a synchronous run: the injected one (`setDevice`), since opening one is
 * asynchronous; an `UnsupportedError` without it.
 *
 * @example
 * ```ts
 * import { deviceNow, setDevice } from "./device.ts";
 * import assert from "node:assert/strict";
 * setDevice(undefined);
 * assert.throws(() => deviceNow());
 * ```
 */
export function deviceNow(): DeviceInfo {
  if (lostReason !== undefined) {
    const why = lostReason;
    lostReason = undefined;
    throw new Error(`The GPU device was lost (${why}); give a new one to setDevice`);
  }
  if (!injected) {
    throw new UnsupportedError(
      'A synchronous "gpu" call needs a device given to setDevice (opening one is asynchronous): use backend "cpu", or await the call',
    );
  }
  return injected;
}
