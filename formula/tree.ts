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

/** Every distinct variable of the trees, by index, in index order. */
export function variablesOf(...trees: Node[]): Node[] {
  const found = new Map<number, Node>();
  const seen = new Set<Node>();
  const visit = (n: Node) => {
    if (seen.has(n)) return;
    seen.add(n);
    if (n.op === "Var") {
      const ind = n.params[0] as number;
      if (!found.has(ind)) found.set(ind, n);
    }
    n.args.forEach(visit);
  };
  trees.forEach(visit);
  return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}
