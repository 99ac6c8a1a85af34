/**
 * The parser of KeOps formula strings and alias lists. Formula text is data: it is read by a
 * recursive-descent parser into a tree over the fixed table of operations, never evaluated.
 *
 * Grammar (Python's precedence, as KeOps evaluates its strings with Python):
 *
 *     compare := bitor [("<" | ">" | "<=" | ">=" | "==" | "!=") bitor]
 *     bitor   := arith ("|" arith)*                       Scalprod
 *     arith   := term (("+" | "-") term)*                 left to right; from 64 terms a balanced tree
 *     term    := unary (("*" | "/") unary)*
 *     unary   := ("-" | "+") unary | power
 *     power   := primary ["**" unary]                     Square / Pow / Sqrt / Rsqrt / Powf
 *     primary := number | alias | Name "(" args [","] ")" | "(" compare ")"
 *
 * In a call, the table says which arguments are formulas and which are integers or integer
 * lists (`Elem(x, 1)`, `Kron(x, y, [2, 3], [2, 2])`).
 *
 * @module
 */

import type { Cat, Node } from "./tree.ts";
import { isOp, make, opDef } from "./ops.ts";
import { LIMITS } from "./limits.ts";
import { LONG_SUM, pairwise } from "./build.ts";

/** What an alias name stands for: the variable at position `ind`. */
export interface VarSpec {
  readonly ind: number;
  readonly dim: number;
  readonly cat: Cat;
}

/** One parsed alias: its name (absent for nameless entries such as `"Vi(3)"`) and variable. */
export interface Alias extends VarSpec {
  readonly name?: string;
}

/** Builds the `Var` node of a variable, labelled with its alias name. */
export function varNode(v: VarSpec, label?: string): Node {
  return make("Var", [], [v.ind, v.dim, v.cat], label);
}

// ---------------------------------------------------------------------------------------------
// Operator semantics, shared with LazyTensor

/** `a OP b` for the infix operators of the language. */
export function binary(op: string, a: Node, b: Node): Node {
  switch (op) {
    case "+":
      return make("Add", [a, b], []);
    case "-":
      return make("Subtract", [a, b], []);
    case "*":
      return make("Mult", [a, b], []);
    case "/":
      return make("Divide", [a, b], []);
    case "|":
      return make("Scalprod", [a, b], []);
    case "<":
      return make("LessThan", [a, b], []);
    case ">":
      return make("LessThan", [b, a], []);
    case "<=":
      return make("LessOrEqual", [a, b], []);
    case ">=":
      return make("LessOrEqual", [b, a], []);
    case "==":
      return make("Equal", [a, b], []);
    case "!=":
      return make("NotEqual", [a, b], []);
  }
  throw new SyntaxError(`Unknown operator "${op}"`);
}

/** `a ** p`: Square for 2, Pow for other integers, Sqrt / Rsqrt for ±0.5, Powf otherwise. */
export function power(a: Node, p: Node | number): Node {
  if (typeof p === "number") {
    if (p === 2) return make("Square", [a], []);
    if (p === 1) return a;
    if (Number.isInteger(p)) return make("Pow", [a], [p]);
    if (p === 0.5) return make("Sqrt", [a], []);
    if (p === -0.5) return make("Rsqrt", [a], []);
    return make("Powf", [a, make("Cst", [], [p])], []);
  }
  return make("Powf", [a, p], []);
}

/** A number as a formula: `IntCst(n)` for integers, a float literal otherwise. */
export function constant(v: number): Node {
  if (!Number.isFinite(v)) throw new RangeError(`Cannot use ${v} in a formula: expected a finite number`);
  return Number.isInteger(v) ? make("IntCst", [], [v]) : make("Cst", [], [v]);
}

/** A formula's text for messages: at most 80 characters. */
function shorten(src: string): string {
  return src.length > 80 ? src.slice(0, 77) + "..." : src;
}

// ---------------------------------------------------------------------------------------------
// Tokens

type Tok = { kind: "num" | "name" | "op" | "end"; text: string; at: number };

const OPERATORS = ["**", "<=", ">=", "==", "!=", "+", "-", "*", "/", "|", "<", ">", "(", ")", "[", "]", ","];

// Sticky expressions, matched at an offset: no copy of the rest of the text per token.
const NUM = /(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/y;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const SPACE = /\s/y;

function stickyAt(re: RegExp, src: string, k: number): string | undefined {
  re.lastIndex = k;
  return re.exec(src)?.[0];
}

function tokenize(src: string, fail: (msg: string, at: number) => never): Tok[] {
  const toks: Tok[] = [];
  let k = 0;
  while (k < src.length) {
    const c = src[k];
    if (stickyAt(SPACE, src, k) !== undefined) {
      k++;
      continue;
    }
    const num = stickyAt(NUM, src, k);
    if (num !== undefined) {
      toks.push({ kind: "num", text: num, at: k });
      k += num.length;
      continue;
    }
    const name = stickyAt(NAME, src, k);
    if (name !== undefined) {
      toks.push({ kind: "name", text: name, at: k });
      k += name.length;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, k));
    if (!op) fail(`unexpected character "${c}"`, k);
    toks.push({ kind: "op", text: op, at: k });
    k += op.length;
  }
  toks.push({ kind: "end", text: "end of text", at: src.length });
  return toks;
}

// ---------------------------------------------------------------------------------------------
// The parser

/** An argument of a call: a formula, an integer or an integer list. */
type Arg = { node?: Node; int?: number; list?: number[]; at: number };

class Parser {
  private toks: Tok[];
  private k = 0;

  private src: string;
  private scope: ReadonlyMap<string, VarSpec>;

  constructor(src: string, scope: ReadonlyMap<string, VarSpec>) {
    this.src = src;
    this.scope = scope;
    this.toks = tokenize(src, (m, at) => this.fail(m, at));
  }

  fail(msg: string, at = this.peek().at): never {
    throw new SyntaxError(`Cannot parse formula "${shorten(this.src)}": ${msg} at offset ${at}`);
  }

  peek(): Tok {
    return this.toks[this.k];
  }

  next(): Tok {
    return this.toks[this.k++];
  }

  accept(text: string): boolean {
    const t = this.peek();
    if (t.kind === "op" && t.text === text) {
      this.k++;
      return true;
    }
    return false;
  }

  expect(text: string) {
    if (!this.accept(text)) this.fail(`expected "${text}", found ${this.found()}`);
  }

  found(): string {
    const t = this.peek();
    return t.kind === "end" ? "the end of the text" : `"${t.text}"`;
  }

  /** Builds a node, turning dimension and range errors into errors that give the offset. */
  at<T>(at: number, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof SyntaxError) throw e;
      const err = e as Error;
      const ctor = err instanceof RangeError ? RangeError : TypeError;
      throw new ctor(`${err.message} (in formula "${shorten(this.src)}" at offset ${at})`);
    }
  }

  formula(): Node {
    const n = this.compare();
    if (this.peek().kind !== "end") this.fail(`unexpected ${this.found()}`);
    return n;
  }

  compare(): Node {
    const a = this.bitor();
    const t = this.peek();
    if (t.kind === "op" && ["<", ">", "<=", ">=", "==", "!="].includes(t.text)) {
      this.next();
      const b = this.bitor();
      const u = this.peek();
      if (u.kind === "op" && ["<", ">", "<=", ">=", "==", "!="].includes(u.text)) {
        this.fail("chained comparisons are not supported; use parentheses");
      }
      return this.at(t.at, () => binary(t.text, a, b));
    }
    return a;
  }

  bitor(): Node {
    let a = this.arith();
    for (let t = this.peek(); t.kind === "op" && t.text === "|"; t = this.peek()) {
      this.next();
      const b = this.arith();
      a = this.at(t.at, () => binary("|", a, b));
    }
    return a;
  }

  arith(): Node {
    const first = this.term();
    const rest: { op: Tok; node: Node }[] = [];
    for (let t = this.peek(); t.kind === "op" && (t.text === "+" || t.text === "-"); t = this.peek()) {
      this.next();
      rest.push({ op: t, node: this.term() });
    }
    if (rest.length < LONG_SUM) {
      let a = first;
      for (const { op, node } of rest) a = this.at(op.at, () => binary(op.text, a, node));
      return a;
    }
    // A long sum (generated formulas: one kernel per centre, …) is added as a balanced tree,
    // so that its depth grows as the logarithm of its length and never meets LIMITS.maxDepth;
    // a − b becomes a + (−b), the same number in floating point.
    const terms = [first, ...rest.map(({ op, node }) => op.text === "-" ? make("Minus", [node], []) : node)];
    return pairwise(terms, (a, b) => this.at(rest[0].op.at, () => binary("+", a, b)));
  }

  term(): Node {
    let a = this.unaryExpr();
    for (let t = this.peek(); t.kind === "op" && (t.text === "*" || t.text === "/"); t = this.peek()) {
      this.next();
      const b = this.unaryExpr();
      // KeOps: 1/f is Inv(f).
      const one = t.text === "/" && a.op === "IntCst" && a.params[0] === 1 && !this.wasCall(a);
      a = this.at(t.at, () => (one ? make("Inv", [b], []) : binary(t.text, a, b)));
    }
    return a;
  }

  /** Literal integers become IntCst nodes; calls to IntCst(...) are remembered here. */
  private calls = new WeakSet<Node>();
  wasCall(n: Node) {
    return this.calls.has(n);
  }

  unaryExpr(): Node {
    // Signs are read in a loop, not by recursion, so that no run of them exhausts the stack.
    const signs: Tok[] = [];
    for (let t = this.peek(); t.kind === "op" && (t.text === "-" || t.text === "+"); t = this.peek()) {
      signs.push(this.next());
    }
    let a = this.nested(() => this.powerExpr());
    for (let q = signs.length - 1; q >= 0; q--) {
      if (signs[q].text === "+") continue;
      // A negative literal is a constant, as in Python (-3 is the int -3).
      if ((a.op === "IntCst" || a.op === "Cst") && !this.calls.has(a) && this.literals.has(a)) {
        const v: Node = constant(-(a.params[0] as number));
        this.literals.add(v);
        a = v;
      } else {
        const arg = a;
        a = this.at(signs[q].at, () => make("Minus", [arg], []));
      }
    }
    return a;
  }

  /** Parentheses, calls and powers nest at most LIMITS.maxDepth deep. */
  private depth = 0;
  nested(f: () => Node): Node {
    if (++this.depth > LIMITS.maxDepth) {
      throw new RangeError(
        `Cannot parse formula "${
          shorten(this.src)
        }": it nests deeper than ${LIMITS.maxDepth} levels, the limit (LIMITS.maxDepth), at offset ${this.peek().at}`,
      );
    }
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private literals = new WeakSet<Node>();

  powerExpr(): Node {
    const a = this.primary();
    const t = this.peek();
    if (!this.accept("**")) return a;
    const b = this.unaryExpr();
    const lit = this.literals.has(b) ? (b.params[0] as number) : undefined;
    return this.at(t.at, () => power(a, lit ?? b));
  }

  primary(): Node {
    const t = this.next();
    if (t.kind === "num") {
      const v = Number(t.text);
      const n = this.at(t.at, () => /[.eE]/.test(t.text) ? make("Cst", [], [v]) : constant(v));
      this.literals.add(n);
      return n;
    }
    if (t.kind === "op" && t.text === "(") {
      const n = this.compare();
      this.expect(")");
      return n;
    }
    if (t.kind === "name") {
      if (this.peek().kind === "op" && this.peek().text === "(") return this.call(t);
      const v = this.scope.get(t.text);
      if (v) return varNode(v, t.text);
      if (isOp(t.text)) this.fail(`operation "${t.text}" must be called with arguments`, t.at);
      this.fail(`unknown name "${t.text}"`, t.at);
    }
    this.k--;
    this.fail(`expected a formula, found ${this.found()}`);
  }

  call(name: Tok): Node {
    if (["Vi", "Vj", "Pm"].includes(name.text)) {
      this.fail(`"${name.text}(...)" is only valid in the aliases list; use Var(ind,dim,cat)`, name.at);
    }
    if (!isOp(name.text) || opDef(name.text).internal) this.fail(`unknown operation "${name.text}"`, name.at);
    const def = opDef(name.text);
    this.expect("(");
    const args: Arg[] = [];
    const total = def.arity + def.params.length;
    const plural = (n: number) => `${n} argument${n === 1 ? "" : "s"}`;
    while (!this.accept(")")) {
      if (args.length > 0) {
        if (!this.accept(",")) this.fail(`expected "," or ")", found ${this.found()}`);
        if (this.accept(")")) break;
      }
      const pos = args.length;
      const at = this.peek().at;
      if (pos >= total) this.fail(`${name.text} expects ${plural(total)}, found more`);
      if (pos < def.arity) args.push({ node: this.compare(), at });
      else if (def.params[pos - def.arity] === "int") args.push({ int: this.integer(), at });
      else args.push({ list: this.intList(), at });
    }
    const min = total - (def.optional ?? 0);
    if (args.length < min) {
      this.fail(
        `${name.text} expects ${
          total === min ? plural(total) : `${min} to ${total} arguments`
        }, got ${args.length}`,
        name.at,
      );
    }
    const nodes = args.slice(0, def.arity).map((a) => a.node!);
    const params = args.slice(def.arity).map((a) => a.int ?? a.list!);
    if (name.text === "Var") this.checkVar(params as number[], name.at);
    if (name.text === "RatCst" && params[1] === 0) {
      throw new RangeError(
        `RatCst expects a nonzero denominator (in formula "${shorten(this.src)}" at offset ${name.at})`,
      );
    }
    const n = this.at(name.at, () => make(name.text, nodes, params));
    if (name.text === "IntCst") this.calls.add(n);
    return n;
  }

  checkVar([ind, dim, cat]: number[], at: number) {
    if (ind < 0 || dim < 1 || ![0, 1, 2].includes(cat)) {
      this.fail(
        `Var(${ind},${dim},${cat}) expects an index ≥ 0, a dimension ≥ 1 and a category 0, 1 or 2`,
        at,
      );
    }
  }

  integer(): number {
    const neg = this.accept("-");
    const t = this.next();
    if (t.kind !== "num" || !/^\d+$/.test(t.text)) {
      this.k--;
      this.fail(`expected an integer, found ${this.found()}`);
    }
    const v = Number(t.text);
    if (!Number.isSafeInteger(v)) this.fail(`integer ${t.text} is too large`, t.at);
    return neg ? -v : v;
  }

  intList(): number[] {
    this.expect("[");
    const out: number[] = [];
    while (!this.accept("]")) {
      if (out.length > 0) {
        this.expect(",");
        if (this.accept("]")) break;
      }
      out.push(this.integer());
    }
    return out;
  }
}

/**
 * Parses a KeOps formula string over the given aliases.
 *
 * @example
 * ```ts
 * import { parseFormula, type VarSpec } from "./parse.ts";
 * import assert from "node:assert/strict";
 * const scope = new Map<string, VarSpec>([["x", { ind: 0, dim: 3, cat: 0 }], ["y", { ind: 1, dim: 3, cat: 1 }]]);
 * const tree = parseFormula("Exp(-SqDist(x,y))", scope);
 * assert.ok(tree.op === "Exp" && tree.dim === 1);
 * ```
 */
export function parseFormula(src: string, scope: ReadonlyMap<string, VarSpec>): Node {
  if (typeof src !== "string") throw new TypeError(`A formula must be a string, got ${typeof src}`);
  if (src.length > LIMITS.maxFormulaLength) {
    throw new RangeError(
      `The formula has ${src.length} characters, more than ${LIMITS.maxFormulaLength}, the limit (LIMITS.maxFormulaLength)`,
    );
  }
  return new Parser(src, scope).formula();
}

const ALIAS =
  /^\s*(?:([A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?(Vi|Vj|Pm|Vx|Vy)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)\s*$/;
const ALIAS_VAR =
  /^\s*(?:([A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?Var\s*\(\s*(\d+)\s*,\s*(\d+)\s*,\s*([012])\s*\)\s*$/;
const CATS: Record<string, Cat> = { Vi: 0, Vx: 0, Vj: 1, Vy: 1, Pm: 2 };

/**
 * Parses KeOps alias strings: `"x = Vi(3)"` (position = index in the list), `"x = Vi(0,3)"`
 * (explicit position), `"Vj(2)"` (nameless), `"x = Var(0,3,0)"`.
 *
 * @example
 * ```ts
 * import { parseAliases } from "./parse.ts";
 * import assert from "node:assert/strict";
 * const [x, y] = parseAliases(["x = Vi(3)", "y = Vj(1,3)"]);
 * assert.ok(x.name === "x" && x.cat === 0 && y.ind === 1 && y.cat === 1);
 * ```
 */
export function parseAliases(aliases: readonly string[]): Alias[] {
  if (!Array.isArray(aliases)) {
    throw new TypeError(`Aliases must be an array of strings such as "x = Vi(3)", got ${typeof aliases}`);
  }
  const out: Alias[] = [];
  const names = new Set<string>();
  aliases.forEach((text, pos) => {
    if (typeof text !== "string") {
      throw new TypeError(`Alias ${pos} must be a string such as "x = Vi(3)", got ${typeof text}`);
    }
    let alias: Alias;
    const m = ALIAS.exec(text), v = ALIAS_VAR.exec(text);
    if (m) {
      const [, name, kind, a, b] = m;
      const ind = b === undefined ? pos : Number(a);
      const dim = Number(b === undefined ? a : b);
      alias = { name, ind, dim, cat: CATS[kind] };
    } else if (v) {
      alias = { name: v[1], ind: Number(v[2]), dim: Number(v[3]), cat: Number(v[4]) as Cat };
    } else {
      throw new SyntaxError(
        `Cannot parse alias "${text}": expected "name = Vi(dim)", "name = Vj(pos,dim)" or "name = Pm(dim)"`,
      );
    }
    if (alias.dim < 1) {
      throw new RangeError(`Alias "${text}" has dimension ${alias.dim}: expected at least 1`);
    }
    if (alias.name !== undefined) {
      if (names.has(alias.name)) throw new SyntaxError(`Alias name "${alias.name}" is defined twice`);
      if (isOp(alias.name)) {
        throw new SyntaxError(`Alias name "${alias.name}" is the name of an operation: choose another`);
      }
      names.add(alias.name);
    }
    out.push(alias);
  });
  return out;
}
