/**
 * Block-sparse reductions on the GPU: the tables that the ranged shaders read (see
 * `codegen.ts`, `Layout.ranged`). One workgroup runs one piece of rows (at most the rows of a
 * workgroup, `rangePieces`) over its intervals of j. On software adapters, which stop an
 * invocation's loops past a number of visits, a piece's intervals are spread over several
 * dispatches (rounds) that carry its accumulators from one to the next, as blocks of j do.
 *
 * @module
 */

/** One dispatch: its pieces (five words each) then their intervals (two words each). */
export interface Round {
  readonly table: Uint32Array;
  readonly pieces: number;
}

/**
 * The rounds of one block of rows and terms, from each piece's items `[row0, row1, jOffset,
 * count, flags]` (`rangeItems`). A round's piece record is `[row0, row1, s0, s1, flags]`: its
 * intervals are words `s0 … s1` (in pairs) of the intervals part, the flags those of its items
 * (1: first of the piece, initialise; 2: last, finalize). `cost(count)` is the loop visits of an
 * interval of `count` terms, `budget` the visits one invocation may make.
 *
 * @example
 * ```ts
 * import { gpuRounds } from "./ranges.ts";
 * import assert from "node:assert/strict";
 * // One piece, two intervals of 10 and 30 terms, 1 visit per term, 25 visits per round.
 * const rounds = gpuRounds([[[0, 4, 0, 10, 1], [0, 4, 50, 30, 2]]], (n) => n, 25);
 * assert.ok(rounds.length === 2 && rounds[0].table.join() === "0,4,0,2,1,0,10,50,65");
 * assert.ok(rounds[1].table.join() === "0,4,0,1,2,65,80");
 * ```
 */
export function gpuRounds(
  pieces: readonly (readonly (readonly number[])[])[],
  cost: (count: number) => number,
  budget: number,
): Round[] {
  // Each piece's intervals, cut into runs of at most `budget` visits.
  const perPiece = pieces.map((items) => {
    const runs: { lo: number; hi: number; flags: number }[][] = [[]];
    let used = 0;
    const add = (lo: number, hi: number, flags: number) => {
      const c = cost(hi - lo);
      if (used + c > budget && runs[runs.length - 1].length) {
        runs.push([]);
        used = 0;
      }
      runs[runs.length - 1].push({ lo, hi, flags });
      used += c;
    };
    for (const [, , j, count, flags] of items) {
      // An interval longer than one round's budget is cut where the budget runs out.
      let per = count;
      while (per > 1 && cost(per) > budget) per = Math.floor(per / 2);
      if (count <= per) add(j, j + count, flags);
      else {
        for (let a = 0; a < count; a += per) {
          const f = (a === 0 ? flags & 1 : 0) | (a + per >= count ? flags & 2 : 0);
          add(j + a, j + Math.min(count, a + per), f);
        }
      }
    }
    return { rows: [items[0][0], items[0][1]], runs };
  });
  const rounds: Round[] = [];
  for (let r = 0;; r++) {
    const active = perPiece.filter((p) => p.runs.length > r);
    if (!active.length) break;
    const intervals = active.reduce((a, p) => a + p.runs[r].length, 0);
    const table = new Uint32Array(5 * active.length + 2 * intervals);
    let iv = 0;
    active.forEach((p, k) => {
      const run = p.runs[r];
      table.set([p.rows[0], p.rows[1], iv, iv + run.length, run.reduce((f, x) => f | x.flags, 0)], 5 * k);
      for (const x of run) {
        table.set([x.lo, x.hi], 5 * active.length + 2 * iv);
        iv++;
      }
    });
    rounds.push({ table, pieces: active.length });
  }
  return rounds;
}
