/**
 * Pieces of the generated kernels that stand apart from the formula's evaluation: the widths of
 * each reduction family's accumulator and outputs, the written-out top-K insertion, and the
 * count of loop-header visits a shader makes (for llvmpipe's cap, `scheme.ts`).
 *
 * @module
 */

import { intLiteral } from "./wgsl_ops.ts";
import type { Family } from "./merge.ts";

/**
 * Loop header visits, counted where software adapters count them (llvmpipe stops every loop
 * of an invocation once their visits together pass 65,535): per term, per tile, and once per
 * dispatch. A loop of n iterations visits its header n + 1 times.
 *
 * @example
 * ```ts
 * import { Visits } from "./folds.ts";
 * import assert from "node:assert/strict";
 * const v = new Visits();
 * assert.ok(!v.loop("term", 3, (k) => `a[${k}] = 0.0;`).includes("for")); // written out
 * v.loop("term", 100, (k) => `a[${k}] = 0.0;`);
 * assert.ok(v.term === 1 + 101);
 * ```
 */
export class Visits {
  term = 1; // the loop over the terms of a tile
  tile = 1; // the loop over the tiles
  fixed = 0;
  /**
   * `for (k …) body(k)` over n components: written out up to 8 components (no loop, registers
   * with constant indices), a loop past that, its visits added to `where`.
   */
  loop(where: "term" | "tile" | "fixed", n: number, body: (k: string) => string, v = "k"): string {
    if (n <= 8) return [...Array(n).keys()].map((k) => body(`${k}u`)).join(" ");
    this[where] += n + 1;
    return `for (var ${v} = 0u; ${v} < ${intLiteral(n, true)}; ${v}++) { ${body(v)} }`;
  }
}

/**
 * The widths of a family's accumulator and outputs.
 *
 * @example
 * ```ts
 * import { widths } from "./folds.ts";
 * import assert from "node:assert/strict";
 * const w = widths({ fam: "kmin", mode: "raw" }, { D: 1, K: 10, Dw: 1 });
 * assert.ok(w.accSize === 20 && w.valuesWidth === 10 && w.indicesWidth === 10);
 * ```
 */
export function widths(
  fam: Family,
  { D, K, Dw }: { D: number; K: number; Dw: number },
): { accSize: number; valuesWidth: number; indicesWidth: number } {
  const KD = K * D;
  // Compensated sums keep one compensation per sum, after the sums.
  const comp = fam.scheme === "kahan" ? 2 : 1;
  return {
    accSize: fam.fam === "sum"
      ? comp * D
      : fam.fam === "kmin"
      ? 2 * KD
      : fam.fam === "lse"
      ? 1 + comp * Dw
      : 2 * D,
    valuesWidth: fam.fam === "sum"
      ? D
      : fam.fam === "kmin"
      ? KD
      : fam.fam === "lse"
      ? (fam.mode === "raw" ? 1 + Dw : fam.mode === "ratio" ? Dw - 1 : Dw)
      : D,
    indicesWidth: fam.fam === "kmin" ? KD : fam.fam === "min" || fam.fam === "max" ? D : 0,
  };
}

/**
 * Inserts a term into the sorted K smallest of each component. Up to 64 slots the insertion is
 * written out with constant indices (the lists stay in registers): a term not below the K-th
 * value is dropped at once, else it sinks through the list by compare-and-swap. An equal value
 * already there stays first (the earlier index); NaN never enters.
 *
 * @example
 * ```ts
 * import { kminInsert } from "./folds.ts";
 * import assert from "node:assert/strict";
 * const code = kminInsert("acc", "idx", () => "v", 3, 1);
 * assert.ok(code.includes("cv < acc[2]") && !code.includes("loop"));
 * ```
 */
export function kminInsert(A: string, I: string, f: (k: string) => string, K: number, D: number): string {
  if (K * D > 64) {
    return `for (var c = 0u; c < ${D}u; c++) {
        let v = ${f("c")};
        if (v < ${A}[${K - 1}u * ${D}u + c]) {
          var s = ${K - 1}u;
          loop { if (s == 0u) { break; } if (!(v < ${A}[(s - 1u) * ${D}u + c])) { break; }
            ${A}[s * ${D}u + c] = ${A}[(s - 1u) * ${D}u + c]; ${I}[s * ${D}u + c] = ${I}[(s - 1u) * ${D}u + c]; s -= 1u; }
          ${A}[s * ${D}u + c] = v; ${I}[s * ${D}u + c] = jg;
        } }`;
  }
  const out: string[] = [];
  for (let c = 0; c < D; c++) {
    const s = (k: number) => `${k * D + c}`;
    // Once the term has gone in, every later entry moves down one place (`mv`), equal or not.
    const steps = [...Array(K).keys()].map((k) =>
      `{ let lt = mv || cv < ${A}[${s(k)}]; mv = lt; let tv = ${A}[${s(k)}]; let ti = ${I}[${s(k)}]; ${A}[${
        s(k)
      }] = select(tv, cv, lt); ${I}[${
        s(k)
      }] = select(ti, ci, lt); cv = select(cv, tv, lt); ci = select(ci, ti, lt); }`
    );
    out.push(
      `{ var cv = ${f(`${c}u`)}; var ci = jg; var mv = false; if (cv < ${A}[${s(K - 1)}]) { ${
        steps.join(" ")
      } } }`,
    );
  }
  return out.join("\n");
}
