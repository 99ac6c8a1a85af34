/**
 * The formula tree: what a KeOps formula string parses to and what every engine consumes.
 *
 * A node is an operation name from the table in `ops.ts`, its sub-formulas (`args`), its static
 * parameters (`params`: integers or integer lists, as KeOps's Python lists) and its output vector
 * dimension, computed once when the node is built. Nodes are immutable and compared by their
 * canonical printed form.
 *
 * @module
 */

/** A static parameter of an operation: an integer, an integer list, or (for literals) a float. */
export type Param = number | readonly number[];

/** One node of a formula tree. Build nodes with `make` from `ops.ts`, never by hand. */
export interface Node {
  /** The operation's name in the formula language, e.g. `"Exp"`, `"Var"`, `"IntCst"`. */
  readonly op: string;
  /** The sub-formulas. */
  readonly args: readonly Node[];
  /** The static parameters, e.g. `[ind, dim, cat]` for `Var`, `[m]` for `Elem`. */
  readonly params: readonly Param[];
  /** The output vector dimension. */
  readonly dim: number;
  /** For variables: the alias name the user wrote, used in error messages only. */
  readonly label?: string;
}

/** Category of a variable: 0 = i-indexed (`Vi`), 1 = j-indexed (`Vj`), 2 = parameter (`Pm`). */
export type Cat = 0 | 1 | 2 | 3;

/** The `[ind, dim, cat]` of a `Var` node. */
export function varInfo(n: Node): { ind: number; dim: number; cat: Cat } {
  const [ind, dim, cat] = n.params as number[];
  return { ind, dim, cat: cat as Cat };
}

/**
 * Every distinct variable of the trees, by index, in index order. One index is one variable:
 * the same index with two dimensions or two categories is a `TypeError` (as in KeOps).
 */
export function variablesOf(...trees: Node[]): Node[] {
  const found = new Map<number, Node>();
  const seen = new Set<Node>();
  const stack = [...trees];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.op === "Var") {
      const ind = n.params[0] as number;
      const prev = found.get(ind);
      if (!prev) found.set(ind, n);
      else if (prev.params[1] !== n.params[1] || prev.params[2] !== n.params[2]) {
        const show = (v: Node) => `${v.label ? `"${v.label}" = ` : ""}Var(${v.params.join(",")})`;
        throw new TypeError(
          `Variable index ${ind} is used as ${show(prev)} and as ${
            show(n)
          }: one index must have one dimension and one category`,
        );
      }
    }
    stack.push(...n.args);
  }
  return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

const ids = new WeakMap<Node, number>();
/** Structural signature (op, params, the ids of the arguments) → id. */
let table = new Map<string, number>();
let lastId = 0;
/** Past this many signatures the table starts afresh (ids are never reused; see keyOf). */
const TABLE_SIZE = 1 << 18;

function formatKeyParam(p: Param): string {
  return Array.isArray(p) ? `[${p.join(",")}]` : Object.is(p, -0) ? "-0" : String(p);
}

/**
 * The identity of a node: equal for structurally equal trees (same operations, parameters and
 * arguments; alias labels aside), computed once per node from the ids of its arguments, so that
 * keying every node of a tree costs time linear in its size (its printed text would cost the
 * square of its depth). Iterative: any depth. The table of signatures is bounded: after a
 * reset, equal trees built before and after get different ids, which only costs a missed
 * sharing, never a false one, since ids are never reused.
 *
 * @example
 * ```ts
 * import { keyOf } from "./tree.ts";
 * import { make } from "./ops.ts";
 * import assert from "node:assert/strict";
 * const x = () => make("Var", [], [0, 3, 0], "x");
 * assert.ok(keyOf(make("Exp", [x()], [])) === keyOf(make("Exp", [x()], [])));
 * assert.ok(keyOf(make("Exp", [x()], [])) !== keyOf(make("Log", [x()], [])));
 * ```
 */
export function keyOf(root: Node): string {
  let id = ids.get(root);
  if (id !== undefined) return String(id);
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const n = stack[stack.length - 1];
    if (ids.has(n)) {
      stack.pop();
      continue;
    }
    const pending = n.args.filter((a) => !ids.has(a));
    if (pending.length > 0) {
      stack.push(...pending);
      continue;
    }
    stack.pop();
    const sig = `${n.op}(${n.params.map(formatKeyParam).join(",")};${
      n.args.map((a) => ids.get(a)).join(",")
    })`;
    let got = table.get(sig);
    if (got === undefined) {
      if (table.size >= TABLE_SIZE) table = new Map();
      got = ++lastId;
      table.set(sig, got);
    }
    ids.set(n, got);
  }
  id = ids.get(root)!;
  return String(id);
}

const depths = new WeakMap<Node, number>();

/** The number of levels of a tree (1 for a leaf), as recorded by `make` when it built it. */
export function depthOf(n: Node): number {
  return depths.get(n) ?? 1;
}

/** Records a node's depth (for `make` only). */
export function recordDepth(n: Node, depth: number): void {
  depths.set(n, depth);
}
