/**
 * `deno task bench:compare`: keops-ts against what users would use instead, at growing sizes,
 * and the scaling chart; writes BENCHMARKS.md (every figure in it comes from this run).
 *
 * Each cell (engine × workload × size) runs in its own process (`cell.ts`), so its peak memory is
 * its own, under a time limit. A size is cut, and the cut shown, when the cell fails for lack of
 * memory, runs past the limit, or would (its time predicted from the previous size: pairwise
 * work grows as N²).
 *
 * @module
 */

const LIMIT_MS = 15_000;
const root = new URL("../../", import.meta.url).pathname;
/**
 * How every process of the run starts: with this folder's configuration and lockfile, which
 * record TensorFlow.js's packages, so that the library's own (empty) lockfile never does and a
 * fresh clone's demo and tests download nothing.
 */
const RUN = ["run", "-A", "--config", root + "bench/compare/deno.json"];

type Cell =
  | { kind: "ok"; ms: number; runs: number; peakMB: number }
  | { kind: "oom"; why: string }
  | { kind: "time"; why: string }
  | { kind: "error"; why: string }
  | { kind: "skip"; why: string };

const ENGINES = [
  ["plain", "plain TypeScript loop"],
  ["tfjs-cpu", "TensorFlow.js cpu (dense)"],
  ["tfjs-wasm", "TensorFlow.js wasm (dense)"],
  ["tfjs-webgpu", "TensorFlow.js webgpu (dense)"],
  ["keops-cpu-1", "keops-ts cpu, 1 thread"],
  ["keops-cpu", "keops-ts cpu, all threads"],
  ["keops-gpu", "keops-ts gpu"],
  ["reference", "keops-ts reference (float64)"],
] as const;

const WORKLOADS: [string, string, number[]][] = [
  ["gauss", "Gaussian kernel product `Exp(-SqDist(x,y))*b`, D = 3", [
    1000,
    8000,
    20000,
    100000,
    1000000,
  ]],
  ["knn3", "kNN by ArgKMin, K = 10, D = 3", [1000, 8000, 20000, 100000]],
  ["knn64", "kNN by ArgKMin, K = 10, D = 64", [1000, 8000, 20000]],
  ["lse", "LogSumExp of `-SqDist(x,y)`, D = 3", [1000, 8000, 20000, 100000]],
  ["grad", "gradient of the Gaussian product with respect to x, D = 3", [
    1000,
    8000,
    20000,
    100000,
  ]],
  [
    "solve",
    "kernel solve (Id + K) a = b, 20 conjugate-gradient iterations, K = exp(-10·|x_i - x_j|²), D = 3 (dense peers build K once; keops-ts recomputes it each iteration)",
    [10000],
  ],
  [
    "mem",
    "Memory against N: the Gaussian product with M = 100 rows and N growing (dense peers hold the 100 × N kernel matrix; keops-ts only the inputs)",
    [10000, 100000, 1000000, 10000000],
  ],
];
/** Rows M of a workload at size n (M = N but for the memory table). */
const rowsOf = (w: string, n: number) => (w === "mem" ? 100 : n);

async function runCell(
  engine: string,
  workload: string,
  n: number,
): Promise<Cell> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      ...RUN,
      root + "bench/compare/cell.ts",
      engine,
      workload,
      String(n),
      String(LIMIT_MS),
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, 2 * LIMIT_MS + 10_000); // a warm-up and one run of up to the limit each
  const out = await child.output();
  clearTimeout(timer);
  if (timedOut) {
    return { kind: "time", why: `over the time limit (${LIMIT_MS / 1000} s)` };
  }
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ??
    "";
  try {
    const r = JSON.parse(line);
    if (!r.ok) {
      return r.oom ? { kind: "oom", why: "out of memory" } : { kind: "error", why: `failed: ${r.error}` };
    }
    const runs: number[] = r.runs;
    const sorted = [...runs].sort((a, b) => a - b);
    const ms = sorted[Math.floor(sorted.length / 2)];
    if (ms > LIMIT_MS) {
      return {
        kind: "time",
        why: `over the time limit (${(ms / 1000).toFixed(0)} s)`,
      };
    }
    return { kind: "ok", ms, runs: runs.length, peakMB: r.peakMB };
  } catch {
    const err = new TextDecoder().decode(out.stderr);
    const oom = /out of memory|allocation failed|heap limit/i.test(err);
    return oom ? { kind: "oom", why: "out of memory" } : { kind: "error", why: "crashed" };
  }
}

const results = new Map<string, Cell>();
const key = (e: string, w: string, n: number) => `${e}|${w}|${n}`;
const started = performance.now();

for (const [w, , sizes] of WORKLOADS) {
  for (const [e] of ENGINES) {
    let prev: { n: number; ms: number } | undefined;
    let cut: Cell | undefined;
    for (const n of sizes) {
      let cell: Cell, wall = 0;
      if (e === "reference" && n > 1000) {
        cell = { kind: "skip", why: "not run (the oracle, small sizes only)" };
      } else if (cut) {
        cell = {
          kind: "skip",
          why: cut.kind === "oom"
            ? "cut: out of memory at a smaller size"
            : "cut: over the time limit at a smaller size",
        };
      } else if (
        prev && w !== "solve" &&
        prev.ms * (n / prev.n) * (rowsOf(w, n) / rowsOf(w, prev.n)) > LIMIT_MS
      ) {
        const predicted = prev.ms * (n / prev.n) *
          (rowsOf(w, n) / rowsOf(w, prev.n));
        cell = {
          kind: "time",
          why: `over the time limit (predicted ${(predicted / 1000).toFixed(0)} s)`,
        };
      } else {
        const t0 = performance.now();
        cell = await runCell(e, w, n);
        wall = (performance.now() - t0) / 1000;
      }
      if (cell.kind === "ok") prev = { n, ms: cell.ms };
      else if (cell.kind === "oom" || cell.kind === "time") cut ??= cell;
      results.set(key(e, w, n), cell);
      console.log(
        `${w} ${e} ${n}: ${
          cell.kind === "ok" ? `${cell.ms.toFixed(1)} ms, ${cell.peakMB.toFixed(0)} MB` : cell.why
        } (cell ${wall.toFixed(1)} s)`,
      );
    }
  }
}
const latency = new Map<string, Cell & { first?: number }>();
for (const [e] of ENGINES) {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [...RUN, root + "bench/compare/cell.ts", e, "latency", "100"],
    stdout: "piped",
    stderr: "null",
  });
  const out = await cmd.output();
  try {
    const r = JSON.parse(
      new TextDecoder().decode(out.stdout).trim().split("\n").pop()!,
    );
    if (!r.ok) throw new Error(r.error);
    const rest = (r.runs as number[]).slice(1).sort((a, b) => a - b);
    latency.set(e, {
      kind: "ok",
      ms: rest[Math.floor(rest.length / 2)],
      runs: rest.length,
      peakMB: r.peakMB,
      first: r.runs[0],
    });
  } catch (err) {
    latency.set(e, {
      kind: "error",
      why: String((err as Error).message ?? err).slice(0, 80),
    });
  }
}

// The issue-3 and issue-4 ratio tables, measured again in this run.
async function script(path: string, args: string[] = []): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...RUN, root + path, ...args],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return new TextDecoder().decode(out.stdout).trim();
}

const gpuRatios = await script("bench/gpu_ratios.ts");

// ---- the report ------------------------------------------------------------------------------

const fmtN = (
  n: number,
) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : `${n}`);
function fmt(c: Cell | undefined, n: number, w: string): string {
  if (!c) return "";
  if (c.kind !== "ok") return c.kind === "skip" ? `_${c.why}_` : `**${c.why}**`;
  const pairs = w === "solve" ? "" : `, ${((rowsOf(w, n) * n) / (c.ms / 1000) / 1e6).toFixed(0)} M pairs/s`;
  const t = c.ms >= 1000 ? `${(c.ms / 1000).toFixed(2)} s` : `${c.ms.toFixed(1)} ms`;
  return `${t}${pairs}, ${c.peakMB.toFixed(0)} MB`;
}

const cpuInfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
const model = /model name\s*:\s*(.*)/.exec(cpuInfo)?.[1] ?? Deno.build.arch;
const memGB = Number(
  /MemTotal:\s+(\d+)/.exec(
    await Deno.readTextFile("/proc/meminfo").catch(() => ""),
  )?.[1] ?? 0,
) /
  2 ** 20;
const adapter = await navigator.gpu?.requestAdapter();
const gpuName = adapter
  ? `${adapter.info.description || adapter.info.device}${
    (adapter.info as { isFallbackAdapter?: boolean }).isFallbackAdapter
      ? " (software adapter: not GPU speed)"
      : ""
  }`
  : "none";

const ok = (e: string, w: string, n: number) => {
  const c = results.get(key(e, w, n));
  return c?.kind === "ok" ? c.ms : undefined;
};
const ratio = (a?: number, b?: number) => (a && b ? b / a : undefined);
const rWasm = ratio(
  ok("keops-cpu", "gauss", 8000),
  ok("tfjs-wasm", "gauss", 8000),
);
const rPlain = ratio(
  ok("keops-cpu", "gauss", 20000),
  ok("plain", "gauss", 20000),
);

const lines: string[] = [
  "# Benchmarks",
  "",
  `Generated by \`deno task bench:compare\` on ${
    new Date().toISOString().slice(0, 10)
  } — every figure below comes from that one run.`,
  "",
  `Machine: ${navigator.hardwareConcurrency} cores (${model}), ${
    memGB.toFixed(0)
  } GiB; ${Deno.build.os} ${Deno.build.arch}; Deno ${Deno.version.deno} (V8 ${Deno.version.v8}); WebGPU adapter: ${gpuName}. The GPU rows ran on that adapter.`,
  "",
  `Each cell: median of 3 runs after a warm-up (2 runs when the warm-up took over 1 s, 1 over 4 s), in its own process; peak memory is that process's peak RSS (runtime and inputs included). Time limit per cell ${
    LIMIT_MS / 1000
  } s; a size is cut after a cell runs out of memory or time, or when the previous size predicts it would (pairwise work grows as M·N). float32 throughout; M = N except in the memory table.`,
  "",
  "## Headline ratios (same run)",
  "",
  `- Gaussian product at M = N = 8,000: keops-ts cpu (all threads) is **${
    rWasm?.toFixed(1) ?? "n/a"
  }×** faster than TensorFlow.js wasm.`,
  `- Gaussian product at M = N = 20,000: keops-ts cpu (all threads) is **${
    rPlain?.toFixed(1) ?? "n/a"
  }×** faster than the plain TypeScript loop.`,
  "",
  "## Gaussian kernel product: time against N",
  "",
  "![Time against N, log-log, per engine](bench/gaussian.svg)",
  "",
];
for (const [w, title, sizes] of WORKLOADS) {
  lines.push(
    `## ${title}`,
    "",
    `| engine | ${sizes.map((n) => `N = ${fmtN(n)}`).join(" | ")} |`,
    `|---|${sizes.map(() => "---").join("|")}|`,
  );
  for (const [e, label] of ENGINES) {
    lines.push(
      `| ${label} | ${sizes.map((n) => fmt(results.get(key(e, w, n)), n, w)).join(" | ")} |`,
    );
  }
  lines.push("");
}
lines.push(
  "## Latency at M = N = 100 (Gaussian product)",
  "",
  "| engine | first call | cached call |",
  "|---|---|---|",
);
for (const [e, label] of ENGINES) {
  const c = latency.get(e)!;
  lines.push(
    c.kind === "ok"
      ? `| ${label} | ${c.first!.toFixed(1)} ms | ${c.ms.toFixed(2)} ms |`
      : `| ${label} | ${c.why} | |`,
  );
}
lines.push(
  "",
  "## CPU engine against the plain loop at M = N = 20,000 (the cells above)",
  "",
  "The issue-3 ratios, read from this run's cells (`bench/cpu_ratios.ts` measures the same on its own).",
  "",
  "| workload | plain TypeScript loop | cpu, 1 thread | cpu, all threads |",
  "|---|---|---|---|",
  ...([["gauss", "Gaussian sum `Exp(-SqDist(x,y))*b`"], [
    "knn3",
    "ArgKMin, K = 10",
  ], [
    "grad",
    "gradient of the Gaussian sum in x",
  ]] as const).map(([w, label]) => {
    const plain = ok("plain", w, 20000),
      one = ok("keops-cpu-1", w, 20000),
      all = ok("keops-cpu", w, 20000);
    const cell = (t?: number) =>
      t === undefined ? "n/a" : `${t.toFixed(0)} ms, **${plain ? (plain / t).toFixed(2) : "n/a"}×**`;
    return `| ${label} | ${plain?.toFixed(0) ?? "n/a"} ms | ${cell(one)} | ${cell(all)} |`;
  }),
  "",
);
lines.push(
  "## Generated WGSL against a hand-written kernel (`bench/gpu_ratios.ts`)",
  "",
  ...gpuRatios.split("\n"),
  "",
);
lines.push(
  "Figures on a real GPU next to KeOps's published Gaussian-sum times on an RTX 2080 Ti (0.7 ms at",
  "10⁴, 15 ms at 10⁵, 1.39 s at 10⁶) are measured only where a GPU machine is available (`../shared/GPU.md`).",
  "",
  `(Whole run: ${((performance.now() - started) / 60000).toFixed(1)} minutes.)`,
  "",
);

// ---- the chart -------------------------------------------------------------------------------

const [W, H, L, R, T, Bm] = [860, 440, 70, 290, 20, 50];
const gaussSizes = WORKLOADS[0][2];
const xs = (n: number) => L + ((Math.log10(n) - 3) / 3) * (W - L - R);
const ys = (ms: number) => T + (1 - (Math.log10(ms) + 1) / 6) * (H - T - Bm); // 0.1 ms … 100 s
const colors = [
  "#444",
  "#e08214",
  "#b35806",
  "#fdb863",
  "#2166ac",
  "#4393c3",
  "#1a9850",
  "#999",
];
const svg: string[] = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  `<rect width="${W}" height="${H}" fill="white"/>`,
];
for (let p = -1; p <= 5; p++) {
  const y = ys(10 ** p);
  svg.push(`<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="#eee"/>`);
  svg.push(
    `<text x="${L - 8}" y="${y + 4}" text-anchor="end">${
      p < 0 ? "0.1 ms" : p < 3 ? `${10 ** p} ms` : `${10 ** (p - 3)} s`
    }</text>`,
  );
}
for (const n of [1e3, 1e4, 1e5, 1e6]) {
  svg.push(
    `<line x1="${xs(n)}" x2="${xs(n)}" y1="${T}" y2="${H - Bm}" stroke="#eee"/>`,
  );
  svg.push(
    `<text x="${xs(n)}" y="${H - Bm + 18}" text-anchor="middle">N = ${fmtN(n)}</text>`,
  );
}
svg.push(
  `<text x="${(L + W - R) / 2}" y="${
    H - 10
  }" text-anchor="middle">M = N (log scale); time per Gaussian product (log scale)</text>`,
);
ENGINES.forEach(([e, label], k) => {
  const pts = gaussSizes.flatMap((n) => {
    const c = results.get(key(e, "gauss", n));
    return c?.kind === "ok" ? [[xs(n), ys(Math.max(c.ms, 0.1))]] : [];
  });
  if (pts.length) {
    svg.push(
      `<polyline fill="none" stroke="${colors[k]}" stroke-width="2" points="${
        pts.map((p) => p.join(",")).join(" ")
      }"/>`,
    );
    for (const [x, y] of pts) {
      svg.push(`<circle cx="${x}" cy="${y}" r="3" fill="${colors[k]}"/>`);
    }
  }
  const y = T + 14 + k * 18;
  svg.push(
    `<rect x="${W - R + 10}" y="${y - 9}" width="12" height="4" fill="${colors[k]}"/>`,
  );
  svg.push(
    `<text x="${W - R + 28}" y="${y - 3}">${label}${pts.length < gaussSizes.length ? " (cut)" : ""}</text>`,
  );
});
svg.push("</svg>");

await Deno.writeTextFile(root + "bench/gaussian.svg", svg.join("\n") + "\n");
await Deno.writeTextFile(root + "BENCHMARKS.md", lines.join("\n"));
console.log(
  `wrote BENCHMARKS.md and bench/gaussian.svg in ${((performance.now() - started) / 60000).toFixed(1)} min`,
);
