// The WebGPU engine's schemes, each forced on small inputs and compared with the float64
// oracle: rows blocked in registers, j split across workgroups with the merge pass, blocks of
// j carried between dispatches, every reduction family across chunk boundaries, ties across
// chunks, K = N, long vectors (fused component loops, vec4 loads, remainders), and the long
// reductions that llvmpipe's loop cap would cut short.
import assert from "node:assert/strict";
import { Genred, type NDArray, ndarray, setDevice } from "../../mod.ts";
import { GPU } from "../_backends.ts";
import { gpuTraffic, setGpuBlockRows } from "../../backends/webgpu/engine.ts";
import { chooseScheme, setGpuScheme } from "../../backends/webgpu/scheme.ts";
import { giveBuffer, takeBuffer } from "../../backends/webgpu/buffers.ts";
import { gpuDevice } from "../../backends/webgpu/device.ts";
import { assertClose, rng, uniform } from "../_helpers.ts";

const SCHEMES: { rows?: number; chunks?: number; jBlock?: number }[] = [
  { rows: 1, chunks: 1 },
  { rows: 1, chunks: 5 },
  { rows: 2, chunks: 3 },
  { rows: 4, chunks: 1 },
  { rows: 4, chunks: 1, jBlock: 70 }, // accumulators carried between dispatches
  { rows: 2, chunks: 3, jBlock: 70 }, // … and merged with the carry
];

async function withScheme<T>(s: (typeof SCHEMES)[number], f: () => Promise<T>): Promise<T> {
  setGpuScheme({ rows: s.rows, chunks: s.chunks });
  const old = setGpuBlockRows(Infinity, s.jBlock ?? Infinity);
  try {
    return await f();
  } finally {
    setGpuScheme(undefined);
    setGpuBlockRows(...old);
  }
}

const f32 = (r: () => number, n: number, lo = -1, hi = 1) => Float32Array.from(uniform(r, n, lo, hi));

/** Runs a Genred on "gpu" under every scheme and on the oracle; compares values and indices. */
async function compareSchemes(
  formula: string,
  aliases: string[],
  options: Record<string, unknown>,
  args: NDArray[],
  rtol = 2e-5,
  schemes = SCHEMES,
) {
  const g = Genred(formula, aliases, { axis: 1, ...options });
  const ref = (await g(...args, { backend: "reference" })) as NDArray | NDArray[];
  for (const s of schemes) {
    const out = (await withScheme(s, () => g(...args, { backend: "gpu" }))) as NDArray | NDArray[];
    const what = `${formula} ${String(options.reduction ?? "Sum")} ${JSON.stringify(s)}`;
    const [os, rs] = [out, ref].map((v) => (Array.isArray(v) ? v : [v]));
    assert.equal(os.length, rs.length, what);
    rs.forEach((rv, q) => {
      assert.deepEqual(os[q].shape, rv.shape, what);
      if (rv.data instanceof Int32Array) assert.deepEqual([...os[q].data], [...rv.data], what);
      else assertClose(os[q].data, rv.data, { rtol, atol: 1e-5, what });
    });
  }
}

Deno.test(
  { name: "[gpu] every reduction family under every scheme matches the oracle", ignore: !GPU },
  async () => {
    const r = rng(11);
    const M = 37, N = 301;
    const x = ndarray(f32(r, M * 2), [M, 2]), y = ndarray(f32(r, N * 2), [N, 2]);
    const b = ndarray(f32(r, N * 3), [N, 3]);
    const xy = ["x = Vi(2)", "y = Vj(2)"];
    await compareSchemes("Exp(-SqDist(x,y)) * b", [...xy, "b = Vj(3)"], {}, [x, y, b]);
    for (const reduction of ["Min", "ArgMin", "Max", "ArgMax", "Min_ArgMin", "Max_ArgMax"]) {
      await compareSchemes("x - y", xy, { reduction }, [x, y]); // component-wise, D = 2
    }
    for (const reduction of ["KMin", "ArgKMin", "KMin_ArgKMin"]) {
      await compareSchemes("SqDist(x,y)", xy, { reduction, k: 4 }, [x, y]);
      await compareSchemes("x * y", xy, { reduction, k: 3 }, [x, y]);
    }
    await compareSchemes("-SqDist(x,y) * 3", xy, { reduction: "LogSumExp" }, [x, y]);
    for (const reduction of ["LogSumExpWeight", "SumSoftMaxWeight", "Max_SumShiftExpWeight"]) {
      await compareSchemes(
        "-SqDist(x,y) * 3",
        [...xy, "b = Vj(3)"],
        { reduction, formula2: "b" },
        [x, y, b],
        5e-5,
      );
    }
  },
);

Deno.test(
  { name: "[gpu] ties across chunks and blocks go to the smallest index; K = N", ignore: !GPU },
  async () => {
    const M = 9, N = 300;
    // Every y_j at the same place: every term ties.
    const x = ndarray(Float32Array.from({ length: M }, (_, i) => i / 10), [M, 1]);
    const y = ndarray(new Float32Array(N).fill(0.5), [N, 1]);
    const xy = ["x = Vi(1)", "y = Vj(1)"];
    for (const s of SCHEMES) {
      const am = (await withScheme(
        s,
        () => Genred("SqDist(x,y)", xy, { reduction: "ArgMin", axis: 1 })(x, y, { backend: "gpu" }),
      )) as NDArray;
      assert.deepEqual([...am.data], new Array(M).fill(0), JSON.stringify(s));
      const ak = (await withScheme(
        s,
        () => Genred("SqDist(x,y)", xy, { reduction: "ArgKMin", k: 5, axis: 1 })(x, y, { backend: "gpu" }),
      )) as NDArray;
      for (let i = 0; i < M; i++) {
        assert.deepEqual(
          [...ak.data.slice(5 * i, 5 * i + 5)],
          [0, 1, 2, 3, 4],
          JSON.stringify(s),
        );
      }
    }
    // K = N, with ties in pairs: the whole order, equal values by index.
    const n = 12;
    const yk = ndarray(Float32Array.from({ length: n }, (_, j) => Math.floor(j / 2) % 3), [n, 1]);
    const g = Genred("SqDist(x,y)", xy, { reduction: "KMin_ArgKMin", k: n, axis: 1 });
    const ref = (await g(x, yk, { backend: "reference" })) as NDArray[];
    for (const s of [{ rows: 1, chunks: 4 }, { rows: 2, chunks: 3, jBlock: 5 }]) {
      const out = (await withScheme(s, () => g(x, yk, { backend: "gpu" }))) as NDArray[];
      assertClose(out[0].data, ref[0].data, { rtol: 1e-6, atol: 1e-6 });
      assert.deepEqual([...out[1].data], [...ref[1].data], JSON.stringify(s));
    }
  },
);

Deno.test(
  { name: "[gpu] long vectors: fused component loops, vec4 loads and remainders", ignore: !GPU },
  async () => {
    const r = rng(5);
    const few = [SCHEMES[1], SCHEMES[3], SCHEMES[5]];
    for (const D of [3000, 784, 100, 67, 16]) { // 3000: j-variables too wide to stage, read at use
      const M = 6, N = 45;
      const x = ndarray(f32(r, M * D), [M, D]), y = ndarray(f32(r, N * D), [N, D]);
      const b = ndarray(f32(r, N), [N, 1]), g = ndarray(Float32Array.of(1 / D), [1]);
      const al = [`x = Vi(${D})`, `y = Vj(${D})`];
      await compareSchemes(
        "Exp(-g*SqDist(x,y))*b",
        [...al, "b = Vj(1)", "g = Pm(1)"],
        {},
        [x, y, b, g],
        2e-5,
        few,
      );
      await compareSchemes("(x|y) + SqNorm2(y) * b", [...al, "b = Vj(1)"], {}, [x, y, b], 2e-5, few);
      await compareSchemes("SqDist(x,y)", al, { reduction: "ArgKMin", k: 3 }, [x, y], 0, few);
      // A vector read elsewhere too (not only by the sum): stored, then summed (an array of
      // D floats per pair, slow to compile at D = 3000).
      if (D <= 784) await compareSchemes("Sum(Abs(x - y)) * Elem(x - y, 2)", al, {}, [x, y], 5e-5, few);
    }
  },
);

Deno.test(
  { name: "[gpu] a long reduction keeps every term (llvmpipe's loop cap)", ignore: !GPU },
  async () => {
    const r = rng(8);
    const M = 3, N = 150_000, D = 8;
    const x = ndarray(f32(r, M * D), [M, D]), y = ndarray(f32(r, N * D), [N, D]);
    const g = Genred("Exp(-SqDist(x,y))", ["x = Vi(8)", "y = Vj(8)"], { axis: 1 });
    const ref = (await g(x, y, { backend: "reference" })) as NDArray;
    for (const s of [{ rows: 1, chunks: 1 }, { rows: 4, chunks: 2 }]) {
      const out = (await withScheme(s, () => g(x, y, { backend: "gpu" }))) as NDArray;
      assertClose(out.data, ref.data, { rtol: 1e-4, what: JSON.stringify(s) });
    }
  },
);

Deno.test(
  { name: "[gpu] the schemes chosen by shape match the oracle (few rows, many rows)", ignore: !GPU },
  async () => {
    const r = rng(31);
    for (const [M, N] of [[5, 6000], [3000, 40], [700, 700]]) {
      const x = ndarray(f32(r, M * 3), [M, 3]),
        y = ndarray(f32(r, N * 3), [N, 3]),
        b = ndarray(f32(r, N), [N, 1]);
      const g = Genred("Exp(-SqDist(x,y)) * b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { axis: 1 });
      const ref = (await g(x, y, b, { backend: "reference" })) as NDArray;
      assertClose(((await g(x, y, b, { backend: "gpu" })) as NDArray).data, ref.data, {
        rtol: 1e-5,
        atol: 1e-5,
      });
      const k = Genred("SqDist(x,y)", ["x = Vi(3)", "y = Vj(3)"], { reduction: "ArgKMin", k: 4, axis: 1 });
      const refK = (await k(x, y, { backend: "reference" })) as NDArray;
      assert.deepEqual(
        [...((await k(x, y, { backend: "gpu" })) as NDArray).data],
        [...refK.data],
        `${M} × ${N}`,
      );
    }
  },
);

Deno.test("the scheme follows the shape: j split for few rows, rows in registers for many", () => {
  const few = chooseScheme(64, 2 ** 18, 64, 8, 4, true);
  assert.ok(few.chunks > 1 && few.workgroupSize * few.rows === 64, JSON.stringify(few));
  const many = chooseScheme(1 << 16, 1 << 16, 64, 8, 4, true);
  assert.deepEqual([many.rows, many.chunks, many.workgroupSize], [8, 1, 64]);
  // A formula with many registers per row keeps one row per invocation.
  assert.equal(chooseScheme(1 << 16, 1 << 16, 64, 150, 4, true).rows, 1);
  // A long formula, or few rows, keeps fewer rows per invocation.
  assert.equal(chooseScheme(1 << 16, 1 << 16, 64, 8, 600, true).rows, 1);
  assert.equal(chooseScheme(20, 1 << 16, 64, 8, 4, true).rows, 2);
  // On a GPU (1,024 workgroups wanted) a square problem of 8,192 rows is split as well.
  assert.ok(chooseScheme(8192, 8192, 64, 8, 4, false).chunks > 1);
});

Deno.test({ name: "[gpu] buffers return to the pool and are reused", ignore: !GPU }, async () => {
  const device = (await gpuDevice())!.device;
  const u = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const a = takeBuffer(device, 3000, u);
  assert.ok(a.size >= 3000);
  giveBuffer(device, a);
  assert.equal(takeBuffer(device, 2500, u), a);
  giveBuffer(device, a);
});

Deno.test(
  { name: "[gpu] a gradient's stages hand their results to each other on the device", ignore: !GPU },
  async () => {
    const r = rng(21);
    const M = 50, N = 70;
    const x = ndarray(f32(r, M * 3), [M, 3]), y = ndarray(f32(r, N * 3), [N, 3]);
    const e = ndarray(f32(r, M), [M, 1]);
    // The gradient of a LogSumExp: a forward reduction (the maxima and sums), then the
    // gradient's reduction reading them.
    const g = Genred("-SqDist(x,y)", ["x = Vi(3)", "y = Vj(3)"], { reduction: "LogSumExp", axis: 1 }).grad(
      "x",
    );
    const ref = (await g(x, y, e, { backend: "reference" })) as NDArray;
    const before = gpuTraffic();
    const out = (await g(x, y, e, { backend: "gpu" })) as NDArray;
    const after = gpuTraffic();
    assertClose(out.data, ref.data, { rtol: 1e-4, atol: 1e-5 });
    // Read back: the gradient (M × 3 floats) and nothing of the forward stage.
    assert.equal(after.readBack - before.readBack, M * 3 * 4);
  },
);

Deno.test({
  name: "[gpu] the schemes for a hardware GPU (1,024 workgroups, warps of 32) match the oracle",
  ignore: !GPU,
}, async () => {
  // The lavapipe device, declared a hardware one: the engine then lays work out as for a GPU
  // (j split into up to 1,024 chunks, no loop cap), which small sizes keep within lavapipe's cap.
  const device = await (await navigator.gpu.requestAdapter())!.requestDevice();
  setDevice(device, { fallback: false });
  try {
    const r = rng(41);
    for (const [M, N] of [[5, 20000], [64, 30000], [3000, 300]]) { // 19, 29 and 1 chunks of j
      const x = ndarray(f32(r, M * 3), [M, 3]), y = ndarray(f32(r, N * 3), [N, 3]);
      const b = ndarray(f32(r, N * 2), [N, 2]);
      const xy = ["x = Vi(3)", "y = Vj(3)"];
      const cases: [string, string[], Record<string, unknown>, NDArray[]][] = [
        ["Exp(-SqDist(x,y)) * b", [...xy, "b = Vj(2)"], {}, [x, y, b]],
        ["SqDist(x,y)", xy, { reduction: "ArgKMin", k: 5 }, [x, y]],
        ["x - y", xy, { reduction: "Min_ArgMin" }, [x, y]],
        ["-SqDist(x,y)", [...xy, "b = Vj(2)"], { reduction: "SumSoftMaxWeight", formula2: "b" }, [x, y, b]],
      ];
      for (const [f, al, o, args] of cases) {
        const g = Genred(f, al, { axis: 1, ...o });
        const [ref, out] = [
          await g(...args, { backend: "reference" }),
          await g(...args, { backend: "gpu" }),
        ].map((v) => (Array.isArray(v) ? v : [v])) as NDArray[][];
        ref.forEach((rv, q) => {
          if (rv.data instanceof Int32Array) {
            assert.deepEqual([...out[q].data], [...rv.data], `${f} ${M}×${N}`);
          } else assertClose(out[q].data, rv.data, { rtol: 5e-5, atol: 1e-5, what: `${f} ${M}×${N}` });
        });
      }
    }
  } finally {
    setDevice(undefined);
    device.destroy();
  }
});
