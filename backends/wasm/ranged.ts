/**
 * Block-sparse runs on the CPU engines: a table of work items in linear memory (pieces of rows,
 * each with the intervals of terms it reduces over) and the runner that threads execute from it.
 * The Rust engine's driver and the generated code's share them; worker threads run `runRanged`
 * from its source text.
 *
 * @module
 */

/**
 * Runs the work items of a block-sparse reduction from a table in memory (at byte `table`,
 * written by `writeRangeTable`): threads claim whole pieces (a run of rows and its intervals
 * of terms) from the counter at byte `counter`, and for each item of a piece point the header
 * at the piece's rows, the interval's terms and the accumulators of those rows, then run it.
 * The fields it sets are given by word index in the table, so the Rust engine's header and the
 * generated code's share it. Self-contained: worker threads run its source text.
 *
 * @example
 * ```ts
 * import { runRanged, writeRangeTable } from "./ranged.ts";
 * import assert from "node:assert/strict";
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const fields = { count: 2, row0: 3, row1: 4, jbase: 5, flags: -1, acc: 16, vals: -1, idx: -1 };
 * const table = writeRangeTable(memory, 256, {
 *   fields, pieces: [[[0, 2, 0, 3, 1], [0, 2, 5, 1, 2]]], pointers: [], jbase: 0,
 *   acc: [1024, 8], vals: [0, 0], idx: [0, 0],
 * });
 * const seen: number[][] = [];
 * const h = new Int32Array(memory.buffer, 0, 22);
 * runRanged(() => seen.push([h[3], h[4], h[5], h[2]]), memory, 0, table, 128);
 * assert.ok(seen.join(";") === "0,2,0,3;0,2,5,1");
 * ```
 */
export function runRanged(
  run: (header: number) => void,
  memory: WebAssembly.Memory,
  header: number,
  table: number,
  counter: number,
): void {
  const m = new Int32Array(memory.buffer);
  const t = table / 4, h = header / 4;
  const [nPieces, nPtr, fCount, fRow0, fRow1, fJ, fFlags, fAcc, fVals, fIdx] = m.subarray(t, t + 10);
  const [accBase, accStride, valsBase, valsStride, idxBase, idxStride, jBase] = m.subarray(t + 10, t + 17);
  const ptrs = t + 18, pieces = ptrs + 3 * nPtr;
  const fields = [fCount, fRow0, fRow1, fJ, fFlags, fAcc, fVals, fIdx].filter((f) => f >= 0);
  const saved = fields.map((f) => m[h + f]);
  const savedPtr = Array.from({ length: nPtr }, (_, q) => m[h + m[ptrs + 3 * q] / 4]);
  const claims = new Int32Array(memory.buffer, counter, 1);
  try {
    for (;;) {
      const p = Atomics.add(claims, 0, 1);
      if (p >= nPieces) break;
      const items = t + m[pieces + 2 * p], end = t + m[pieces + 2 * p + 1];
      for (let it = items; it < end; it += 5) {
        const row0 = m[it], row1 = m[it + 1], jOff = m[it + 2];
        m[h + fCount] = m[it + 3];
        m[h + fRow0] = row0;
        m[h + fRow1] = row1;
        m[h + fJ] = jBase + jOff;
        if (fFlags >= 0) m[h + fFlags] = m[it + 4];
        m[h + fAcc] = accBase + row0 * accStride;
        if (fVals >= 0) m[h + fVals] = valsBase + row0 * valsStride;
        if (fIdx >= 0) m[h + fIdx] = idxBase + row0 * idxStride;
        for (let q = 0; q < nPtr; q++) {
          const e = ptrs + 3 * q;
          m[h + m[e] / 4] = m[e + 1] + jOff * m[e + 2];
        }
        run(header);
      }
    }
  } finally {
    fields.forEach((f, k) => (m[h + f] = saved[k]));
    for (let q = 0; q < nPtr; q++) m[h + m[ptrs + 3 * q] / 4] = savedPtr[q];
  }
}

/** Where `runRanged` writes each field, by word index in a header (-1: the header has none). */
export interface RangeFields {
  readonly count: number;
  readonly row0: number;
  readonly row1: number;
  readonly jbase: number;
  readonly flags: number;
  readonly acc: number;
  readonly vals: number;
  readonly idx: number;
}

/** What `writeRangeTable` lays out for `runRanged`. */
export interface RangeTable {
  readonly fields: RangeFields;
  /** Per piece, its items `[row0, row1, jOffset, count, flags]` (rows and terms within blocks). */
  readonly pieces: readonly (readonly (readonly number[])[])[];
  /** The j-variables' pointers: byte offset from the header, base address, bytes per term. */
  readonly pointers: readonly (readonly [number, number, number])[];
  /** The index of the block's first term. */
  readonly jbase: number;
  /** Base address and bytes per row of the accumulators, values and indices. */
  readonly acc: readonly [number, number];
  readonly vals: readonly [number, number];
  readonly idx: readonly [number, number];
}

/**
 * Int32 words of a range table (to reserve memory for it): 18 of header, 3 per pointer, 2 per
 * piece and 5 per item.
 *
 * @example
 * ```ts
 * import { rangeTableWords } from "./ranged.ts";
 * import assert from "node:assert/strict";
 * assert.ok(rangeTableWords({ pieces: [[[0, 1, 0, 4, 3]]], pointers: [[0, 0, 4]] }) === 18 + 3 + 2 + 5);
 * ```
 */
export function rangeTableWords(
  t: {
    readonly pieces: readonly { readonly length: number }[];
    readonly pointers: { readonly length: number };
  },
): number {
  return 18 + 3 * t.pointers.length + 2 * t.pieces.length +
    5 * t.pieces.reduce((a, p) => a + p.length, 0);
}

/**
 * Writes a range table at byte `at` of memory (layout read by `runRanged`); returns `at`.
 *
 * @example
 * ```ts
 * import { writeRangeTable } from "./ranged.ts";
 * import assert from "node:assert/strict";
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const fields = { count: 2, row0: 3, row1: 4, jbase: 5, flags: -1, acc: 16, vals: -1, idx: -1 };
 * writeRangeTable(memory, 0, { fields, pieces: [[[0, 2, 0, 3, 1]]], pointers: [], jbase: 0, acc: [64, 8], vals: [0, 0], idx: [0, 0] });
 * assert.ok(new Int32Array(memory.buffer)[0] === 1); // one piece
 * ```
 */
export function writeRangeTable(memory: WebAssembly.Memory, at: number, t: RangeTable): number {
  const words = new Int32Array(rangeTableWords(t));
  const f = t.fields;
  words.set([
    t.pieces.length,
    t.pointers.length,
    f.count,
    f.row0,
    f.row1,
    f.jbase,
    f.flags,
    f.acc,
    f.vals,
    f.idx,
  ]);
  words.set([t.acc[0], t.acc[1], t.vals[0], t.vals[1], t.idx[0], t.idx[1], t.jbase], 10);
  t.pointers.forEach((p, q) => words.set(p, 18 + 3 * q));
  let pieceAt = 18 + 3 * t.pointers.length, itemAt = pieceAt + 2 * t.pieces.length;
  for (const items of t.pieces) {
    words[pieceAt++] = itemAt;
    for (const it of items) {
      words.set(it, itemAt);
      itemAt += 5;
    }
    words[pieceAt++] = itemAt;
  }
  new Int32Array(memory.buffer, at, words.length).set(words);
  return at;
}
