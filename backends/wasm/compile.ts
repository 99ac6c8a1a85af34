/**
 * The compiler from lowered formula trees to the WASM engine's instruction programs.
 *
 * Each distinct node becomes one instruction writing one register. A register is "pair" (it
 * depends on a j-variable: T values per component, one per pair of the tile) or "uniform"
 * (computed once per row i). Variables are not copied into registers: they are registers of
 * their own kinds that point into the input arrays. Three patterns are fused:
 * `Sum(Square(Subtract(a, b)))` (every SqDist), `Exp(Minus(a))`, and the Gaussian kernel times a
 * scalar weight, `Exp(Minus(SqDist(a, b))) · w`.
 *
 * The program is position-independent: pointers (registers, TensorDot tables, scratch space)
 * are resolved by the driver when it lays out memory (see `engine.ts`).
 *
 * @module
 */

import type { Node } from "../../formula/tree.ts";
import { keyOf } from "../../formula/tree.ts";
import { printFormula } from "../../formula/print.ts";
import { opDef } from "../../formula/ops.ts";
import { type Evaluated, EXPNEG_FUSED, GAUSSW_FUSED, OPCODES, SQDIST_FUSED } from "./opcodes.ts";
import { tensorDotTables } from "../../formula/ops_tensordot.ts";

/** Register kinds, as `wasm-cpu/src/engine.rs` (an object, not an enum: erasable TypeScript). */
export const Kind = { Pair: 0, Uniform: 1, IVar: 2, JVar: 3, Param: 4 } as const;
/** A register kind. */
export type Kind = (typeof Kind)[keyof typeof Kind];

/** A register: its kind and dimension; for variables the slot, for constants the value. */
export interface Reg {
  readonly kind: Kind;
  readonly dim: number;
  readonly slot?: number;
  readonly value?: number;
}

/** Memory an instruction needs besides registers: an int32 table or f64 scratch space. */
export interface Extra {
  /** Index of the instruction word to patch with the address (instruction, word). */
  readonly instr: number;
  readonly word: number;
  readonly table?: Int32Array;
  readonly scratchF64?: number;
}

/** A compiled program. */
export interface Program {
  readonly regs: readonly Reg[];
  /** Instructions (16 words each): row instructions first, then pair instructions. */
  readonly code: Int32Array;
  readonly nRow: number;
  readonly nPair: number;
  readonly extras: readonly Extra[];
  /** The registers of the results (F, and W for the LogSumExp family). */
  readonly results: readonly number[];
}

/** Words per instruction: op, out, three arguments, eleven parameters. */
export const INSTR_WORDS = 16;

interface Instr {
  op: number;
  out: number;
  args: number[];
  params: number[];
  extra?: { word: number; table?: Int32Array; scratchF64?: number };
}

/**
 * Compiles lowered formulas. Variables of category 0 are read at row i, 1 at pair j, 2 once.
 *
 * @example
 * ```ts
 * import { compile } from "./compile.ts";
 * import { make } from "../../formula/ops.ts";
 * import assert from "node:assert/strict";
 * const x = make("Var", [], [0, 3, 0]), y = make("Var", [], [1, 3, 1]);
 * const sq = make("Sum", [make("Square", [make("Subtract", [x, y], [])], [])], []);
 * const prog = compile([make("Exp", [make("Minus", [sq], [])], [])]);
 * assert.ok(prog.nRow === 0 && prog.nPair === 2); // SqDist, then Exp(Minus(·)), fused
 * ```
 */
export function compile(formulas: readonly Node[]): Program {
  const regs: Reg[] = [];
  const rowInstrs: Instr[] = [];
  const pairInstrs: Instr[] = [];
  const seen = new Map<string, number>();
  const reg = (r: Reg) => regs.push(r) - 1;
  const perPair = (r: number) => regs[r].kind === Kind.Pair || regs[r].kind === Kind.JVar;

  const visit = (n: Node): number => {
    const key = keyOf(n);
    const hit = seen.get(key);
    if (hit !== undefined) return hit;
    let out: number;
    const def = opDef(n.op);
    if (n.op === "Var") {
      const [ind, , cat] = n.params as number[];
      if (cat > 2) throw new TypeError(`Cannot compile the temporary variable ${printFormula(n)}`);
      out = reg({ kind: cat === 0 ? Kind.IVar : cat === 1 ? Kind.JVar : Kind.Param, dim: n.dim, slot: ind });
    } else if (def.kind === "leaf") {
      const p = n.params as number[];
      const value = n.op === "RatCst" ? p[0] / p[1] : n.op === "Zero" ? 0 : p[0];
      out = reg({ kind: Kind.Uniform, dim: n.dim, value });
    } else if (def.kind === "elementwise" || def.kind === "vector") {
      const sq = sqdistOperands(n);
      const expNeg = n.op === "Exp" && n.args[0].op === "Minus" ? n.args[0].args : undefined;
      const gauss = gaussWeightOperands(n);
      const args = (gauss ?? sq ?? expNeg ?? n.args).map(visit);
      const pair = args.some(perPair);
      out = reg({ kind: pair ? Kind.Pair : Kind.Uniform, dim: n.dim });
      const ins: Instr = {
        op: gauss ? GAUSSW_FUSED : sq ? SQDIST_FUSED : expNeg ? EXPNEG_FUSED : OPCODES[n.op as Evaluated],
        out,
        args,
        params: [],
      };
      instrParams(n, ins);
      (pair ? pairInstrs : rowInstrs).push(ins);
    } else {
      throw new TypeError(`Cannot compile ${n.op} before lowering`);
    }
    seen.set(key, out);
    return out;
  };
  const results = formulas.map(visit);
  const all = [...rowInstrs, ...pairInstrs];
  const code = new Int32Array(all.length * INSTR_WORDS);
  const extras: Extra[] = [];
  all.forEach((ins, k) => {
    const w = k * INSTR_WORDS;
    code[w] = ins.op;
    code[w + 1] = ins.out;
    for (let a = 0; a < 3; a++) code[w + 2 + a] = ins.args[a] ?? -1;
    ins.params.forEach((p, q) => (code[w + 5 + q] = p));
    if (ins.extra) extras.push({ instr: k, ...ins.extra });
  });
  return { regs, code, nRow: rowInstrs.length, nPair: pairInstrs.length, extras, results };
}

/** The operands (a, b, w) when n is Exp(Minus(SqDist(a, b))) · w (either order), w scalar. */
function gaussWeightOperands(n: Node): Node[] | undefined {
  if (n.op !== "Mult" || n.dim !== 1) return undefined;
  for (const [e, w] of [[n.args[0], n.args[1]], [n.args[1], n.args[0]]]) {
    if (e.op === "Exp" && e.args[0].op === "Minus") {
      const ab = sqdistOperands(e.args[0].args[0]);
      if (ab) return [...ab, w];
    }
  }
  return undefined;
}

/** The operands (a, b) when n is Sum(Square(Subtract(a, b))). */
function sqdistOperands(n: Node): Node[] | undefined {
  if (n.op !== "Sum") return undefined;
  const sq = n.args[0];
  if (sq.op !== "Square" || sq.args[0].op !== "Subtract") return undefined;
  return [...sq.args[0].args];
}

function instrParams(n: Node, ins: Instr) {
  const p = n.params as number[];
  switch (n.op) {
    case "Pow":
    case "Round":
    case "Elem":
    case "Extract":
    case "ExtractT":
      ins.params = [p[0]];
      break;
    case "ClampInt":
    case "DiffClampInt":
    case "ElemT":
      ins.params = [p[0], p[1]];
      break;
    case "TensorDot": {
      const t = tensorDotTables(n);
      ins.params = [0, t.fo.length, t.fc.length];
      const table = new Int32Array([...t.fo, ...t.go, ...t.fc, ...t.gc]);
      ins.extra = { word: 5, table };
      break;
    }
    case "BSpline":
      ins.params = [p[0], 0];
      ins.extra = { word: 6, scratchF64: n.args[0].dim };
      break;
    case "SoftDTW_SqDist":
    case "GradSoftDTW_SqDist": {
      const nm = n.args[0].dim * n.args[1].dim;
      ins.params = [0, 0];
      ins.extra = { word: 6, scratchF64: 2 * nm };
      break;
    }
  }
}
