/**
 * Random block-sparse ranges for tests: KeOps's 6-tuple over M rows and N terms, with the
 * features that engines must get right, and the pair mask they describe.
 *
 * @module
 */

/** KeOps's 6-tuple as nested arrays. */
export type Ranges6 = [number[][], number[], number[][], number[][], number[], number[][]];

/**
 * Random ranges over M rows and N terms: row blocks with gaps (some rows in no block), some
 * blocks of one row, some with no intervals, intervals sorted and disjoint; and the same pairs
 * seen from j, built from the pair mask.
 */
export function randomRanges(
  r: () => number,
  M: number,
  N: number,
): { ranges: Ranges6; keep: (i: number, j: number) => boolean } {
  const rowsI: number[][] = [], slicesI: number[] = [], redJ: number[][] = [];
  for (let a = 0; a < M;) {
    const len = r() < 0.2 ? 1 : 1 + Math.floor(r() * 7);
    const b = Math.min(M, a + len);
    if (r() < 0.85) {
      rowsI.push([a, b]);
      if (r() >= 0.15) {
        for (let j = Math.floor(r() * 4); j < N;) {
          const e = Math.min(N, j + 1 + Math.floor(r() * 9));
          redJ.push([j, e]);
          j = e + Math.floor(r() * 10);
        }
      }
      slicesI.push(redJ.length);
    }
    a = b + (r() < 0.2 ? 1 : 0);
  }
  const mask = (i: number, j: number) => {
    for (let k = 0; k < rowsI.length; k++) {
      if (i < rowsI[k][0] || i >= rowsI[k][1]) continue;
      for (let s = k === 0 ? 0 : slicesI[k - 1]; s < slicesI[k]; s++) {
        if (j >= redJ[s][0] && j < redJ[s][1]) return true;
      }
    }
    return false;
  };
  // From j: one block per column, with the runs of rows it meets (the same pairs).
  const rowsJ: number[][] = [], slicesJ: number[] = [], redI: number[][] = [];
  for (let a = 0; a < N; a++) {
    rowsJ.push([a, a + 1]);
    let start = -1;
    for (let i = 0; i <= M; i++) {
      const any = i < M && mask(i, a);
      if (any && start < 0) start = i;
      if (!any && start >= 0) {
        redI.push([start, i]);
        start = -1;
      }
    }
    slicesJ.push(redI.length);
  }
  return { ranges: [rowsI, slicesI, redJ, rowsJ, slicesJ, redI], keep: mask };
}
