/**
 * Arrays the GPU engine makes on the device for a routine's intermediates, synchronously (the
 * synchronous path cannot read back): a buffer of int32 indices as float32, and the ramp
 * 0, 1, …, n − 1. A fixed shader, generated from no user text.
 *
 * @module
 */

import type { DeviceHelpers } from "../backend.ts";
import { deviceNow } from "./device.ts";

const CAST = `
struct Count { n: u32 }
@group(0) @binding(0) var<uniform> count: Count;
@group(0) @binding(1) var<storage, read> src: array<i32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x + g.y * 64u * 65535u;
  if (i < count.n) { dst[i] = f32(src[i]); }
}`;

const pipelines = new WeakMap<GPUDevice, GPUComputePipeline>();
// (Read at use: GPUBufferUsage exists only where WebGPU does.)
const storage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

/**
 * The GPU engine's device helpers, on the injected device.
 *
 * @example
 * ```ts
 * import { deviceHelpers } from "./helpers.ts";
 * import assert from "node:assert/strict";
 * assert.ok(typeof deviceHelpers().ramp === "function");
 * ```
 */
export function deviceHelpers(): DeviceHelpers {
  return {
    indexFloats(indices: GPUBuffer, count: number): GPUBuffer {
      const device = deviceNow().device;
      let pipeline = pipelines.get(device);
      if (!pipeline) {
        pipeline = device.createComputePipeline({
          layout: "auto",
          compute: { module: device.createShaderModule({ code: CAST }), entryPoint: "main" },
        });
        pipelines.set(device, pipeline);
      }
      const out = device.createBuffer({ size: Math.max(16, 4 * count), usage: storage() });
      const uniform = device.createBuffer({
        size: 16,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      device.queue.writeBuffer(uniform, 0, Uint32Array.of(count, 0, 0, 0));
      const bind = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [uniform, indices, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      const groups = Math.ceil(count / 64);
      if (groups > 0) pass.dispatchWorkgroups(Math.min(groups, 65535), Math.ceil(groups / 65535));
      pass.end();
      device.queue.submit([enc.finish()]);
      uniform.destroy();
      return out;
    },
    ramp(n: number): GPUBuffer {
      const device = deviceNow().device;
      const out = device.createBuffer({ size: Math.max(16, 4 * n), usage: storage() });
      if (n > 0) device.queue.writeBuffer(out, 0, Float32Array.from({ length: n }, (_, k) => k));
      return out;
    },
  };
}
