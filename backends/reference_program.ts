/**
 * The float64 tile interpreter behind the reference engine: slow, simple and obviously right.
 *
 * A list of lowered formulas is flattened into instructions, one per distinct node, each with a
 * register. A register either varies with the pair (it depends on a j-variable: it holds T
 * values of its dimension, one per pair of the tile) or is uniform over the tile (it depends on
 * i-variables, parameters and constants only: it holds one value, computed once per tile).
 * Running the program evaluates every instruction over the tile with the table's reference math:
 *
 *     for each instruction (children first):
 *       for p in pairs (or once if uniform):  out[p] = op(args[p or 0])
 *
 * @module
 */

import type { Node } from "../formula/tree.ts";
import { type ElementwiseOp, opDef, type VectorOp } from "../formula/ops.ts";
import { keyOf } from "../formula/tree.ts";

/** One register: `dim` values, per pair of the tile or once. */
export interface Register {
  readonly dim: number;
  readonly perPair: boolean;
  readonly buf: Float64Array;
}

/** One instruction: evaluates its node over `count` pairs (or once if uniform). */
type Instr = (count: number) => void;

/** A variable read by a program: which slot, its category and the register to fill. */
export interface Load {
  readonly ind: number;
  readonly cat: number;
  readonly reg: Register;
}

/** A compiled list of formulas over a tile of T pairs (one i, T values of j). */
export interface Program {
  readonly loads: readonly Load[];
  readonly results: readonly Register[];
  /** Evaluates all instructions for `count` ≤ T pairs (registers of loads must be filled). */
  run(count: number): void;
}

/** Compiles lowered formulas for tiles of T pairs. */
export function compileProgram(formulas: readonly Node[], T: number, round?: (x: number) => number): Program {
  const regs = new Map<string, Register>();
  const instrs: Instr[] = [];
  const loads: Load[] = [];
  const visit = (n: Node): Register => {
    const k = keyOf(n);
    const hit = regs.get(k);
    if (hit) return hit;
    const args = n.args.map(visit);
    const def = opDef(n.op);
    let reg: Register;
    if (n.op === "Var") {
      const [ind, , cat] = n.params as number[];
      if (cat > 2) throw new TypeError(`Cannot evaluate the temporary variable ${k}`);
      reg = { dim: n.dim, perPair: cat === 1, buf: new Float64Array((cat === 1 ? T : 1) * n.dim) };
      loads.push({ ind, cat, reg });
    } else if (def.kind === "leaf") {
      const v = constantValue(n);
      reg = { dim: n.dim, perPair: false, buf: new Float64Array(n.dim).fill(round ? round(v) : v) };
    } else if (def.kind === "elementwise" || def.kind === "vector") {
      const perPair = args.some((a) => a.perPair);
      reg = { dim: n.dim, perPair, buf: new Float64Array((perPair ? T : 1) * n.dim) };
      const ins = instruction(n, reg, args), out = reg;
      instrs.push(
        round
          ? (count) => {
            ins(count);
            const b = out.buf, end = (out.perPair ? count : 1) * out.dim;
            for (let q = 0; q < end; q++) b[q] = round(b[q]);
          }
          : ins,
      );
    } else {
      throw new TypeError(`Cannot evaluate ${n.op} before lowering`);
    }
    regs.set(k, reg);
    return reg;
  };
  const results = formulas.map(visit);
  return {
    loads,
    results,
    run(count: number) {
      for (const ins of instrs) ins(count);
    },
  };
}

function constantValue(n: Node): number {
  const p = n.params as number[];
  switch (n.op) {
    case "IntCst":
    case "Cst":
      return p[0];
    case "RatCst":
      return p[0] / p[1];
    default:
      return 0; // Zero(D)
  }
}

/** Builds the loop of one instruction, with its strides fixed at compile time. */
function instruction(node: Node, outReg: Register, args: readonly Register[]): Instr {
  const def = opDef(node.op);
  const out = outReg.buf, d = outReg.dim, per = outReg.perPair;
  if (def.kind === "elementwise") {
    const f = (def as ElementwiseOp).scalar, p = node.params;
    const [a, b, c] = args;
    // Pair stride (0 if uniform) and component stride (0 for a broadcast scalar) per argument.
    const sa = a.perPair ? a.dim : 0, ka = a.dim === 1 ? 0 : 1, A = a.buf;
    if (!b) {
      return (count) => {
        const n = per ? count : 1;
        for (let q = 0; q < n; q++) {
          for (let k = 0; k < d; k++) out[q * d + k] = f(A[q * sa + k * ka], 0, 0, p);
        }
      };
    }
    const sb = b.perPair ? b.dim : 0, kb = b.dim === 1 ? 0 : 1, B = b.buf;
    if (!c) {
      return (count) => {
        const n = per ? count : 1;
        for (let q = 0; q < n; q++) {
          for (let k = 0; k < d; k++) out[q * d + k] = f(A[q * sa + k * ka], B[q * sb + k * kb], 0, p);
        }
      };
    }
    const sc = c.perPair ? c.dim : 0, kc = c.dim === 1 ? 0 : 1, C = c.buf;
    return (count) => {
      const n = per ? count : 1;
      for (let q = 0; q < n; q++) {
        for (let k = 0; k < d; k++) {
          out[q * d + k] = f(A[q * sa + k * ka], B[q * sb + k * kb], C[q * sc + k * kc], p);
        }
      }
    };
  }
  const ev = (def as VectorOp).eval;
  const bufs = args.map((r) => r.buf);
  const strides = args.map((r) => (r.perPair ? r.dim : 0));
  const offs = strides.map(() => 0);
  return (count) => {
    const n = per ? count : 1;
    for (let q = 0; q < n; q++) {
      for (let k = 0; k < offs.length; k++) offs[k] = q * strides[k];
      ev(out, q * d, bufs, offs, node);
    }
  };
}
