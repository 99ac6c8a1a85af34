/**
 * Hand-written WGSL kernels for the jobs of `gpu_ratios.ts`: what a GPU programmer writes for
 * one formula and one shape, specialised by hand (the dimension written out, the kernel
 * inline, vec4 loads), with the standard schemes: j tiled through workgroup memory, j split
 * across workgroups for few rows with a second pass merging the chunks, the top-K in
 * registers. Each job runs whole (upload, dispatch, read-back), as a user's call would.
 *
 * llvmpipe stops an invocation's loops after 65,535 loop-header visits in total, so these
 * kernels, like the generated ones, keep each invocation's visits below that (by chunks of j
 * and written-out inner loops).
 *
 * @module
 */

/** One job: its shaders, inputs and dispatch, run whole on a device. */
export interface HandJob {
  readonly name: string;
  run(device: GPUDevice): Promise<Float32Array | Int32Array>;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();
function pipeline(device: GPUDevice, code: string): GPUComputePipeline {
  let m = pipelines.get(device);
  if (!m) pipelines.set(device, m = new Map());
  let p = m.get(code);
  if (!p) {
    p = device.createComputePipeline({
      layout: "auto",
      compute: {
        module: device.createShaderModule({ code }),
        entryPoint: "main",
      },
    });
    m.set(code, p);
  }
  return p;
}

/** Runs passes (code, bindings by index into `bufs`, workgroups) and reads buffer `out` back. */
async function runPasses(
  device: GPUDevice,
  inputs: (Float32Array | Uint32Array)[],
  scratch: number[],
  passes: { code: string; bind: number[]; groups: [number, number] }[],
  out: number,
  outBytes: number,
  int = false,
): Promise<Float32Array | Int32Array> {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST |
    GPUBufferUsage.COPY_SRC;
  const bufs = [
    ...inputs.map((d, k) => {
      const u = k === 0 ? GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST : usage;
      const b = device.createBuffer({
        size: Math.max(16, d.byteLength),
        usage: u,
      });
      device.queue.writeBuffer(b, 0, d as Float32Array<ArrayBuffer>);
      return b;
    }),
    ...scratch.map((bytes) => device.createBuffer({ size: Math.max(16, bytes), usage })),
  ];
  const read = device.createBuffer({
    size: outBytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  for (const p of passes) {
    const pl = pipeline(device, p.code);
    pass.setPipeline(pl);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: pl.getBindGroupLayout(0),
        entries: p.bind.map((b, binding) => ({
          binding,
          resource: { buffer: bufs[b] },
        })),
      }),
    );
    pass.dispatchWorkgroups(...p.groups);
  }
  pass.end();
  enc.copyBufferToBuffer(bufs[out], 0, read, 0, outBytes);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const raw = read.getMappedRange().slice(0);
  read.unmap();
  for (const b of [...bufs, read]) b.destroy();
  return int ? new Int32Array(raw) : new Float32Array(raw);
}

/**
 * Σ_j exp(−|x_i − y_j|²)·b_j in D = 3: R = 8 rows per invocation (each term read from
 * workgroup memory serves the eight), `wg` invocations per workgroup, 64 terms per tile,
 * `chunks` chunks of j across workgroups (partials, then a pass adding them).
 */
export function gaussian(
  X: Float32Array,
  Y: Float32Array,
  B: Float32Array,
  chunks: number,
  wg = 64,
): HandJob {
  const M = X.length / 3, N = Y.length / 3, R = 8;
  const clen = Math.ceil(N / chunks / 64) * 64;
  const rows = [...Array(R).keys()];
  const main = `
struct U { m: u32, n: u32, clen: u32, chunks: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(2) var<storage, read> ys: array<f32>;
@group(0) @binding(3) var<storage, read> bs: array<f32>;
@group(0) @binding(4) var<storage, read_write> part: array<f32>;
var<workgroup> ty: array<vec4<f32>, 64>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i0 = wid.x * ${wg * R}u + lid.x;
  ${
    rows.map((r) =>
      `let c${r} = min(i0 + ${
        r * wg
      }u, u.m - 1u); let x${r} = vec3<f32>(xs[3u * c${r}], xs[3u * c${r} + 1u], xs[3u * c${r} + 2u]); var a${r} = 0.0;`
    ).join("\n  ")
  }
  let lo = wid.y * u.clen; let hi = min(lo + u.clen, u.n);
  for (var j0 = lo; j0 < hi; j0 += 64u) {
    for (var e = lid.x; e < 64u; e += ${wg}u) {
      let j = j0 + e;
      if (j < hi) { ty[e] = vec4<f32>(ys[3u * j], ys[3u * j + 1u], ys[3u * j + 2u], bs[j]); }
    }
    workgroupBarrier();
    let cnt = min(64u, hi - j0);
    ${rows.map((r) => `var s${r} = 0.0;`).join(" ")}
    for (var jj = 0u; jj < cnt; jj++) {
      let t = ty[jj];
      ${rows.map((r) => `{ let d = x${r} - t.xyz; s${r} += exp(-dot(d, d)) * t.w; }`).join("\n      ")}
    }
    ${rows.map((r) => `a${r} += s${r};`).join(" ")}
    workgroupBarrier();
  }
  ${
    rows.map((r) => `if (i0 + ${r * wg}u < u.m) { part[wid.y * u.m + i0 + ${r * wg}u] = a${r}; }`).join(
      "\n  ",
    )
  }
}`;
  const merge = `
struct U { m: u32, n: u32, clen: u32, chunks: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x; if (i >= u.m) { return; }
  var s = 0.0;
  for (var c = 0u; c < u.chunks; c++) { s += part[c * u.m + i]; }
  out[i] = s;
}`;
  const groups = Math.ceil(M / (wg * R));
  return {
    name: "gaussian",
    run: (device) =>
      runPasses(
        device,
        [Uint32Array.of(M, N, clen, chunks), X, Y, B],
        [chunks * M * 4, M * 4],
        chunks > 1
          ? [
            { code: main, bind: [0, 1, 2, 3, 4], groups: [groups, chunks] },
            { code: merge, bind: [0, 4, 5], groups: [Math.ceil(M / 64), 1] },
          ]
          : [{ code: main, bind: [0, 1, 2, 3, 4], groups: [groups, 1] }],
        chunks > 1 ? 5 : 4,
        M * 4,
      ),
  };
}

/**
 * The indices of the K = 10 nearest y_j of each x_i in D = 64 (squared distances): R = 2 rows
 * per invocation, each x_i in 16 vec4 registers, 32 terms per tile, the distance written out
 * over the 16 vec4 (each vec4 of y_j read once for both rows), the sorted top 10 of each row
 * in registers with an early-out against its 10th.
 */
export function knn64(X: Float32Array, Y: Float32Array): HandJob {
  const D = 64,
    K = 10,
    M = X.length / D,
    N = Y.length / D,
    T = 32,
    R = 2,
    WGK = 64;
  const rows = [...Array(R).keys()],
    ks = [...Array(K).keys()],
    qs = [...Array(D / 4).keys()];
  const dist = qs.map((q) =>
    `{ let t = ty[jj * 16u + ${q}u]; ${
      rows.map((r) => `{ let e = x${r}[${q}] - t; d${r} += dot(e, e); }`).join(
        " ",
      )
    } }`
  ).join("\n      ");
  const insert = (r: number) =>
    ks.map((k) =>
      `{ let lt = mv || cv < bv${r}[${k}]; mv = lt; let tv = bv${r}[${k}]; let ti = bi${r}[${k}]; bv${r}[${k}] = select(tv, cv, lt); bi${r}[${k}] = select(ti, ci, lt); cv = select(cv, tv, lt); ci = select(ci, ti, lt); }`
    ).join(" ");
  const code = `
struct U { m: u32, n: u32, a: u32, b: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> xs: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> ys: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<i32>;
var<workgroup> ty: array<vec4<f32>, ${T * 16}>;
@compute @workgroup_size(${WGK})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i0 = wid.x * ${WGK * R}u + lid.x;
  ${
    rows.map((r) =>
      `let c${r} = min(i0 + ${r * WGK}u, u.m - 1u); var x${r}: array<vec4<f32>, 16>; ${
        qs.map((q) => `x${r}[${q}] = xs[c${r} * 16u + ${q}u];`).join(" ")
      }
  var bv${r}: array<f32, ${K}>; var bi${r}: array<i32, ${K}>; ${
        ks.map((k) => `bv${r}[${k}] = bitcast<f32>(0x7f800000u);`).join(" ")
      }`
    ).join("\n  ")
  }
  for (var j0 = 0u; j0 < u.n; j0 += ${T}u) {
    for (var e = lid.x; e < ${
    T * 16
  }u; e += ${WGK}u) { if (j0 * 16u + e < u.n * 16u) { ty[e] = ys[j0 * 16u + e]; } }
    workgroupBarrier();
    let cnt = min(${T}u, u.n - j0);
    for (var jj = 0u; jj < cnt; jj++) {
      ${rows.map((r) => `var d${r} = 0.0;`).join(" ")}
      ${dist}
      ${
    rows.map((r) =>
      `{ var cv = d${r}; var ci = i32(j0 + jj); var mv = false; if (cv < bv${r}[${K - 1}]) { ${insert(r)} } }`
    ).join("\n      ")
  }
    }
    workgroupBarrier();
  }
  ${
    rows.map((r) =>
      `if (i0 + ${r * WGK}u < u.m) { ${
        ks.map((k) => `out[(i0 + ${r * WGK}u) * ${K}u + ${k}u] = bi${r}[${k}];`)
          .join(" ")
      } }`
    ).join("\n  ")
  }
}`;
  return {
    name: "knn64",
    run: (device) =>
      runPasses(
        device,
        [Uint32Array.of(M, N, 0, 0), X, Y],
        [M * K * 4],
        [{ code, bind: [0, 1, 2, 3], groups: [Math.ceil(M / (WGK * R)), 1] }],
        3,
        M * K * 4,
        true,
      ),
  };
}

/**
 * Σ_j exp(−g·|x_i − y_j|²)·b_j in D = 784: R = 4 rows per invocation, 8 terms per tile
 * (25 KiB of workgroup memory), the distance a loop of four vec4 per iteration (each vec4 of
 * y_j read once for the four rows; 50 loop visits per term, within llvmpipe's cap at N = 1024),
 * x_i read as vec4 from the storage buffer.
 */
export function gaussian784(
  X: Float32Array,
  Y: Float32Array,
  B: Float32Array,
  g: number,
): HandJob {
  const D = 784,
    Q = D / 4,
    M = X.length / D,
    N = Y.length / D,
    T = 8,
    R = 4,
    WGK = 64;
  const rows = [...Array(R).keys()];
  const code = `
struct U { m: u32, n: u32, g: f32, b: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> xs: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> ys: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bs: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
var<workgroup> ty: array<vec4<f32>, ${T * Q}>;
var<workgroup> tb: array<f32, ${T}>;
@compute @workgroup_size(${WGK})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i0 = wid.x * ${WGK * R}u + lid.x;
  ${rows.map((r) => `let o${r} = min(i0 + ${r * WGK}u, u.m - 1u) * ${Q}u; var a${r} = 0.0;`).join("\n  ")}
  for (var j0 = 0u; j0 < u.n; j0 += ${T}u) {
    for (var e = lid.x; e < ${
    T * Q
  }u; e += ${WGK}u) { if (j0 * ${Q}u + e < u.n * ${Q}u) { ty[e] = ys[j0 * ${Q}u + e]; } }
    if (lid.x < ${T}u && j0 + lid.x < u.n) { tb[lid.x] = bs[j0 + lid.x]; }
    workgroupBarrier();
    let cnt = min(${T}u, u.n - j0);
    for (var jj = 0u; jj < cnt; jj++) {
      ${rows.map((r) => `var d${r} = 0.0;`).join(" ")}
      for (var q = 0u; q < ${Q}u; q += 4u) {
        let t0 = ty[jj * ${Q}u + q]; let t1 = ty[jj * ${Q}u + q + 1u];
        let t2 = ty[jj * ${Q}u + q + 2u]; let t3 = ty[jj * ${Q}u + q + 3u];
        ${
    rows.map((r) =>
      `{ let e0 = xs[o${r} + q] - t0; let e1 = xs[o${r} + q + 1u] - t1; let e2 = xs[o${r} + q + 2u] - t2; let e3 = xs[o${r} + q + 3u] - t3; d${r} += dot(e0, e0) + dot(e1, e1) + dot(e2, e2) + dot(e3, e3); }`
    ).join("\n        ")
  }
      }
      ${rows.map((r) => `a${r} += exp(-u.g * d${r}) * tb[jj];`).join(" ")}
    }
    workgroupBarrier();
  }
  ${rows.map((r) => `if (i0 + ${r * WGK}u < u.m) { out[i0 + ${r * WGK}u] = a${r}; }`).join("\n  ")}
}`;
  const uni = new Uint32Array(4);
  uni.set([M, N]);
  new Float32Array(uni.buffer, 8, 1)[0] = g;
  return {
    name: "gaussian784",
    run: (device) =>
      runPasses(
        device,
        [uni, X, Y, B],
        [M * 4],
        [{
          code,
          bind: [0, 1, 2, 3, 4],
          groups: [Math.ceil(M / (WGK * R)), 1],
        }],
        4,
        M * 4,
      ),
  };
}
