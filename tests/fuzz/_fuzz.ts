/**
 * The fuzzing loop shared by `deno task fuzz` and the bounded run of the test suite: generated
 * formulas on every engine against the reference, then bad inputs, counted; failures shrunk to
 * reproducers.
 *
 * @module
 */

import { type Finding, Hang, limited, reproducer, runCase, shrink, type Target, unclean } from "./_check.ts";
import { randomCase } from "./_gen.ts";
import { runProbe } from "./_bad_input.ts";

/** What to run. */
export interface FuzzOptions {
  readonly seed: number;
  /** Stop after this many seconds (formulas and bad inputs share it 3:1) … */
  readonly seconds: number;
  /** … or after this many formulas (and three bad inputs per formula), whichever comes first. */
  readonly count: number;
  /** Whether to run the "gpu" engine too. */
  readonly gpu: boolean;
  /** Largest M and N (default 300). */
  readonly maxSize?: number;
  readonly log?: (line: string) => void;
}

/** What a run found. */
export interface FuzzReport {
  readonly formulas: number;
  readonly rejected: number;
  readonly compared: number;
  readonly skipped: number;
  readonly badInputs: number;
  readonly failures: number;
  readonly findings: readonly Finding[];
  readonly reproducers: readonly string[];
  readonly summary: string;
}

/**
 * Runs the fuzzer. Findings of one kind on one target are shrunk once (the first), and all
 * are counted.
 */
export async function fuzz(o: FuzzOptions): Promise<FuzzReport> {
  const targets: Target[] = [
    { backend: "cpu", dtype: "float32" },
    { backend: "cpu", dtype: "float64" },
    ...(o.gpu ? [{ backend: "gpu", dtype: "float32" } as Target] : []),
  ];
  const end = performance.now() + o.seconds * 1000;
  const findings: Finding[] = [];
  const reproducers: string[] = [];
  const shrunk = new Set<string>();
  let formulas = 0, rejected = 0, compared = 0, skipped = 0, badInputs = 0, badFailures = 0;
  const report = async (f: Finding) => {
    findings.push(f);
    const key = `${f.kind}|${f.target}`;
    if (shrunk.has(key)) return;
    shrunk.add(key);
    reproducers.push(reproducer(await shrink(f, targets)));
  };
  for (let k = 0; k < o.count && performance.now() < end; k++) {
    const seed = o.seed + k;
    const c = randomCase(seed, o.maxSize ?? 300);
    // One case in three: GPU arrays in and out on the GPU, the synchronous path on the CPU.
    const out = await runCase(c, targets, seed % 3 === 0);
    formulas++;
    if (out.rejected) rejected++;
    compared += out.compared;
    skipped += out.skipped;
    for (const f of out.findings) await report(f);
    for (let b = 0; b < 3; b++) {
      const s = seed * 3 + b;
      let res: { probe: number; error?: unknown };
      try {
        res = await limited(runProbe(s), 30_000);
      } catch (e) {
        res = { probe: -1, error: e };
      }
      badInputs++;
      const why = res.error instanceof Hang
        ? "hang"
        : res.error === undefined
        ? undefined
        : unclean(res.error);
      if (why) {
        badFailures++;
        if (badFailures <= 10) reproducers.push(`bad input, probe ${res.probe}, seed ${s}: ${why}`);
      }
    }
    if (o.log && formulas % 500 === 0) {
      o.log(`${formulas} formulas, ${findings.length} findings, ${badFailures} unclean bad inputs`);
    }
  }
  const kinds = new Map<string, number>();
  for (const f of findings) {
    kinds.set(`${f.kind} on ${f.target}`, (kinds.get(`${f.kind} on ${f.target}`) ?? 0) + 1);
  }
  const summary = [
    `fuzz: seed ${o.seed}, engines ${targets.map((t) => `${t.backend} ${t.dtype}`).join(", ")}`,
    `${formulas} formulas (${rejected} refused cleanly), ${compared} outputs compared, ${skipped} ill-conditioned outputs skipped`,
    `${findings.length} mismatches, crashes or unclean errors${
      kinds.size ? ": " + [...kinds].map(([k, n]) => `${n} ${k}`).join(", ") : ""
    }`,
    `${badInputs} bad inputs, ${badFailures} not handled cleanly`,
  ].join("\n");
  return {
    formulas,
    rejected,
    compared,
    skipped,
    badInputs,
    failures: findings.length + badFailures,
    findings,
    reproducers,
    summary,
  };
}
