/**
 * TensorDot, the one tensor-algebra primitive: MatVecMult, VecMatMult, TensorProd and Kron are
 * expansions into it (see `ops.ts`).
 *
 * `TensorDot(f, g, dimsf, dimsg, contf, contg[, permute])` reshapes f and g row-major to dimsf
 * and dimsg, contracts axis contf[t] of f with axis contg[t] of g (as `np.tensordot`), keeps the
 * other axes in the order (kept axes of f, kept axes of g), moves kept axis s to output position
 * permute[s], and flattens row-major.
 *
 * Its vector-Jacobian products are TensorDots again: the cotangent e (shaped like the output)
 * is contracted with the other operand over that operand's kept axes, and the permutation puts
 * the remaining axes back in the differentiated operand's order.
 *
 * @module
 */

import type { Node, Param } from "./tree.ts";
import { make } from "./ops.ts";

interface Layout {
  dimsf: number[];
  dimsg: number[];
  contf: number[];
  contg: number[];
  keptF: number[];
  keptG: number[];
  perm: number[];
  outDims: number[];
}

const prod = (a: readonly number[]) => a.reduce((x, y) => x * y, 1);

function layout(params: readonly Param[]): Layout {
  const [dimsf, dimsg, contf, contg] = params.slice(0, 4).map((p) => [...(p as number[])]);
  const keptF = dimsf.map((_, k) => k).filter((k) => !contf.includes(k));
  const keptG = dimsg.map((_, k) => k).filter((k) => !contg.includes(k));
  const r = keptF.length + keptG.length;
  const perm = params.length > 4 ? [...(params[4] as number[])] : [...Array(r).keys()];
  const rDims = [...keptF.map((k) => dimsf[k]), ...keptG.map((k) => dimsg[k])];
  const outDims: number[] = new Array(r);
  perm.forEach((p, s) => (outDims[p] = rDims[s]));
  return { dimsf, dimsg, contf, contg, keptF, keptG, perm, outDims };
}

function checkAxes(axes: number[], rank: number, what: string, name: string) {
  const ok = axes.every((a) => Number.isInteger(a) && a >= 0 && a < rank) &&
    new Set(axes).size === axes.length;
  if (!ok) {
    throw new RangeError(
      `${name} expects ${what} to be distinct axes below ${rank}, got [${axes}]`,
    );
  }
}

/** Dimension rule of TensorDot. */
export function tensorDotDim(args: readonly Node[], params: readonly Param[], name: string): number {
  const [f, g] = args;
  const L = layout(params);
  for (const [dims, n, what] of [[L.dimsf, f, "first"], [L.dimsg, g, "second"]] as const) {
    if (!dims.every((d) => Number.isInteger(d) && d >= 1) || prod(dims) !== n.dim) {
      throw new TypeError(
        `${name} expects the ${what} shape [${dims}] to hold ${n.dim} values (its argument's dimension)`,
      );
    }
  }
  if (L.contf.length !== L.contg.length) {
    throw new TypeError(
      `${name} expects as many contracted axes on both sides, got [${L.contf}] and [${L.contg}]`,
    );
  }
  checkAxes(L.contf, L.dimsf.length, "the first contracted axes", name);
  checkAxes(L.contg, L.dimsg.length, "the second contracted axes", name);
  L.contf.forEach((a, t) => {
    if (L.dimsf[a] !== L.dimsg[L.contg[t]]) {
      throw new TypeError(
        `${name} contracts axes of different lengths ${L.dimsf[a]} and ${L.dimsg[L.contg[t]]}`,
      );
    }
  });
  checkAxes(L.perm, L.keptF.length + L.keptG.length, "the permutation", name);
  if (L.perm.length !== L.keptF.length + L.keptG.length) {
    throw new TypeError(
      `${name} expects a permutation of ${L.keptF.length + L.keptG.length} axes, got [${L.perm}]`,
    );
  }
  return prod(L.outDims);
}

function strides(dims: number[]): number[] {
  const s = new Array(dims.length).fill(1);
  for (let k = dims.length - 2; k >= 0; k--) s[k] = s[k + 1] * dims[k + 1];
  return s;
}

/** Offsets of every multi-index over `dims`, each axis weighted by `weights` (row-major order). */
function offsets(dims: number[], weights: number[]): Int32Array {
  const out = new Int32Array(prod(dims));
  const idx = new Array(dims.length).fill(0);
  for (let n = 0; n < out.length; n++) {
    let o = 0;
    for (let k = 0; k < dims.length; k++) o += idx[k] * weights[k];
    out[n] = o;
    for (let k = dims.length - 1; k >= 0; k--) {
      if (++idx[k] < dims[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/** Offset tables of a TensorDot (see `tensorDotTables`). */
export interface Plan {
  fo: Int32Array;
  go: Int32Array;
  fc: Int32Array;
  gc: Int32Array;
}

const plans = new WeakMap<Node, Plan>();

/**
 * The offset tables of a TensorDot node: output q reads f at fo[q] + fc[c] and g at
 * go[q] + gc[c] for each contracted index c (engines evaluate it from these).
 */
export function tensorDotTables(n: Node): Plan {
  return plan(n);
}

function plan(n: Node): Plan {
  let p = plans.get(n);
  if (p) return p;
  const L = layout(n.params);
  const sf = strides(L.dimsf), sg = strides(L.dimsg);
  // Output axis perm[s] walks R axis s; R axis s is kept axis s of f, or kept axis s-a of g.
  const a = L.keptF.length;
  const wf = new Array(L.outDims.length).fill(0), wg = new Array(L.outDims.length).fill(0);
  L.perm.forEach((pos, s) => {
    if (s < a) wf[pos] = sf[L.keptF[s]];
    else wg[pos] = sg[L.keptG[s - a]];
  });
  const cdims = L.contf.map((k) => L.dimsf[k]);
  p = {
    fo: offsets(L.outDims, wf),
    go: offsets(L.outDims, wg),
    fc: offsets(cdims, L.contf.map((k) => sf[k])),
    gc: offsets(cdims, L.contg.map((k) => sg[k])),
  };
  plans.set(n, p);
  return p;
}

/** Reference math of TensorDot. */
export function tensorDotEval(
  out: Float64Array,
  o: number,
  a: readonly Float64Array[],
  ao: readonly number[],
  n: Node,
): void {
  const { fo, go, fc, gc } = plan(n);
  const [f, g] = a;
  for (let q = 0; q < fo.length; q++) {
    let s = -0; // the identity of IEEE addition: a single product of −0 stays −0
    const bf = ao[0] + fo[q], bg = ao[1] + go[q];
    for (let c = 0; c < fc.length; c++) s += f[bf + fc[c]] * g[bg + gc[c]];
    out[o + q] = s;
  }
}

/** Vector-Jacobian products of TensorDot: one TensorDot per operand. */
export function tensorDotVjp(n: Node, e: Node): Node[] {
  const [f, g] = n.args;
  const L = layout(n.params);
  const a = L.keptF.length;
  const posOfF = L.keptF.map((_, s) => L.perm[s]); // output position of kept f axis s
  const posOfG = L.keptG.map((_, t) => L.perm[a + t]); // output position of kept g axis t
  // Cotangent of f: contract e's g-positions with g's kept axes.
  const restF = [...posOfF].sort((x, y) => x - y);
  const permF = [
    ...restF.map((p) => L.keptF[posOfF.indexOf(p)]),
    ...[...L.contg].sort((x, y) => x - y).map((q) => L.contf[L.contg.indexOf(q)]),
  ];
  const df = make("TensorDot", [e, g], [L.outDims, L.dimsg, posOfG, L.keptG, permF]);
  // Cotangent of g: contract e's f-positions with f's kept axes.
  const restG = [...posOfG].sort((x, y) => x - y);
  const permG = [
    ...restG.map((p) => L.keptG[posOfG.indexOf(p)]),
    ...[...L.contf].sort((x, y) => x - y).map((q) => L.contg[L.contf.indexOf(q)]),
  ];
  const dg = make("TensorDot", [e, f], [L.outDims, L.dimsf, posOfF, L.keptF, permG]);
  return [df, dg];
}
