/**
 * The WebGPU engine's rule table: the WGSL of every evaluated operation of `lazy/ops.ts`,
 * keyed by the operation (the type makes the compiler reject a missing one). Element-wise
 * operations give an expression of their arguments' components; vector operations give
 * statements writing the output array `o` from the argument arrays. Only identifiers made by
 * the code generator and numbers it formatted itself ever reach these snippets: formula text
 * never does.
 *
 * @module
 */

import type { Node } from "../../formula/tree.ts";
import type { Evaluated } from "../wasm/opcodes.ts";
import { tensorDotTables } from "../../formula/ops_tensordot.ts";

/** A WGSL float literal of a finite number (validated: digits, sign, dot, exponent only). */
export function f32Literal(v: number): string {
  if (!Number.isFinite(v)) throw new RangeError(`Cannot write ${v} as a WGSL constant`);
  const s = String(Math.fround(v));
  const t = /[.eE]/.test(s) ? s : s + ".0";
  if (!/^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$/.test(t)) {
    throw new RangeError(`Cannot write ${v} as a WGSL constant`);
  }
  return t;
}

/**
 * A WGSL f32 expression of any number: a literal when it is finite in float32, else `P.inf`,
 * `-P.inf` or `kt_nan()` (WGSL has no literal for them).
 */
export function f32Value(v: number): string {
  const f = Math.fround(v);
  if (Number.isNaN(f)) return "kt_nan()";
  if (!Number.isFinite(f)) return f > 0 ? "P.inf" : "-P.inf";
  return f32Literal(f);
}

/** A WGSL unsigned or signed integer literal of a safe integer. */
export function intLiteral(v: number, unsigned = false): string {
  if (!Number.isSafeInteger(v) || (unsigned && v < 0)) {
    throw new RangeError(`Cannot write ${v} as a WGSL integer`);
  }
  return unsigned ? `${v}u` : `${v}`;
}

type Expr = (a: string[], n: Node) => string;
/** Statements writing `o[k]`; `a[q](k)` reads component k (a WGSL expression) of argument q. */
type Stmt = (o: string, a: ((k: string) => string)[], n: Node) => string;

/** A rule: an element-wise expression or vector statements. */
export type WgslRule = { expr: Expr } | { stmt: Stmt };

const e = (f: Expr): WgslRule => ({ expr: f });
const st = (f: Stmt): WgslRule => ({ stmt: f });
const p = (n: Node, k: number) => n.params[k] as number;
const dim = (n: Node, q: number) => n.args[q].dim;

/**
 * Helper functions the snippets may call (emitted once per shader when used). `kt_atan2` is
 * atan2 with IEEE's (and Math.atan2's) signed zeros and infinities, which not every driver's
 * atan2 follows: the angle of (|y|, x) from atan of a ratio ≤ 1, then y's sign. NaN and ∞ are
 * recognised by their bits, which no fast-math assumption can fold away. `kt_sqrt` and `kt_log`
 * give IEEE's NaN, −∞ and ∞ at the edges of their domains, where Vulkan's GLSL.std.450 leaves
 * sqrt and log undefined (lavapipe gave 0 for the square root of a negative number). `kt_atan` is Cephes's
 * atanf (reduction to |t| ≤ tan(π/8) around 0, π/4 or π/2, then an odd polynomial; about 2
 * ulps): some drivers' atan is off by several ulps.
 */
export const HELPERS = `
fn kt_nan() -> f32 { return bitcast<f32>(P.nan); }
fn kt_powi(x: f32, n: i32) -> f32 {
  var r = 1.0; var b = x; var e = abs(n);
  loop { if (e == 0) { break; } if ((e & 1) == 1) { r = r * b; } b = b * b; e = e >> 1u; }
  return select(r, 1.0 / r, n < 0);
}
fn kt_powf(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  let yi = y == trunc(y);
  if (x == 0.0) { return select(P.inf, 0.0, y > 0.0); }
  if (x < 0.0) {
    if (!yi) { return kt_nan(); }
    let r = exp2(y * log2(-x));
    return select(r, -r, abs(y) < 16777216.0 && (i32(y) & 1) == 1);
  }
  return exp2(y * log2(x));
}
fn kt_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn kt_isinf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn kt_sqrt(x: f32) -> f32 {
  if (x < 0.0 || kt_isnan(x)) { return kt_nan(); }
  return select(sqrt(x), x, kt_isinf(x) || x == 0.0);
}
fn kt_log(x: f32) -> f32 {
  if (x < 0.0 || kt_isnan(x)) { return kt_nan(); }
  if (x == 0.0) { return -P.inf; }
  return select(log(x), x, kt_isinf(x));
}
fn kt_atan(x: f32) -> f32 {
  let a = abs(x);
  var base = 0.0; var t = a;
  if (a > 2.414213562373095) { base = 1.5707963267948966; t = -1.0 / a; }
  else if (a > 0.4142135623730950) { base = 0.7853981633974483; t = (a - 1.0) / (a + 1.0); }
  let z = t * t;
  let r = base + ((((0.0805374449538 * z - 0.138776856032) * z + 0.199777106478) * z - 0.333329491539) * z * t + t);
  return select(r, -r, (bitcast<u32>(x) >> 31u) == 1u);
}
fn kt_atan2(y: f32, x: f32) -> f32 {
  if (kt_isnan(x) || kt_isnan(y)) { return kt_nan(); }
  let ay = abs(y); let ax = abs(x);
  let xneg = (bitcast<u32>(x) >> 31u) == 1u;
  var r: f32;
  if (ay == 0.0) { r = select(0.0, 3.14159265358979, xneg); }
  else if (kt_isinf(ay)) { r = select(1.57079632679490, select(0.785398163397448, 2.35619449019234, xneg), kt_isinf(ax)); }
  else if (kt_isinf(ax)) { r = select(0.0, 3.14159265358979, xneg); }
  else if (ax == 0.0) { r = 1.57079632679490; }
  else {
    let t = select(1.57079632679490 - kt_atan(ax / ay), kt_atan(ay / ax), ay <= ax);
    r = select(t, 3.14159265358979 - t, xneg);
  }
  return select(r, -r, (bitcast<u32>(y) >> 31u) == 1u);
}
fn kt_round(x: f32, s: f32) -> f32 {
  let y = x * s; let t = trunc(y);
  return select(t, t + sign(y), abs(y - t) >= 0.5) / s;
}
`;

/** The WGSL of each evaluated operation. */
export const WGSL: Record<Evaluated, WgslRule> = {
  Abs: e(([a]) => `abs(${a})`),
  // Through atan2: some drivers' asin and acos are far less accurate.
  Acos: e(([a]) => `kt_atan2(kt_sqrt((1.0 - ${a}) * (1.0 + ${a})), ${a})`),
  Asin: e(([a]) => `kt_atan2(${a}, kt_sqrt((1.0 - ${a}) * (1.0 + ${a})))`),
  Atan: e(([a]) => `kt_atan(${a})`),
  Cos: e(([a]) => `select(cos(${a}), kt_nan(), kt_isinf(${a}))`),
  Sin: e(([a]) => `select(sin(${a}), kt_nan(), kt_isinf(${a}))`),
  Exp: e(([a]) => `select(exp(${a}), ${a}, kt_isnan(${a}))`),
  Log: e(([a]) => `kt_log(${a})`),
  Floor: e(([a]) => `floor(${a})`),
  Inv: e(([a]) => `(1.0 / ${a})`),
  Minus: e(([a]) => `(-${a})`),
  ReLU: e(([a]) => `select(${a}, 0.0, ${a} < 0.0)`),
  Rsqrt: e(([a]) => `select(1.0 / kt_sqrt(${a}), 0.0, ${a} == 0.0)`),
  Sign: e(([a]) => `select(select(0.0, -1.0, ${a} < 0.0), 1.0, ${a} > 0.0)`),
  SinXDivX: e(([a]) => `select(select(sin(${a}), kt_nan(), kt_isinf(${a})) / ${a}, 1.0, ${a} == 0.0)`),
  Sqrt: e(([a]) => `kt_sqrt(${a})`),
  Square: e(([a]) => `(${a} * ${a})`),
  Step: e(([a]) => `select(1.0, 0.0, ${a} < 0.0)`),
  XLogX: e(([a]) => `select(${a} * kt_log(${a}), 0.0, ${a} == 0.0)`),
  Pow: e(([a], n) => `kt_powi(${a}, ${intLiteral(p(n, 0))})`),
  Round: e(([a], n) => `kt_round(${a}, ${f32Value(10 ** p(n, 0))})`),
  ClampInt: e(([a], n) => {
    const [lo, hi] = [f32Literal(p(n, 0)), f32Literal(p(n, 1))];
    return `select(select(${a}, ${hi}, ${a} > ${hi}), ${lo}, ${a} < ${lo})`;
  }),
  DiffClampInt: e(([a], n) =>
    `select(0.0, 1.0, ${a} >= ${f32Literal(p(n, 0))} && ${a} <= ${f32Literal(p(n, 1))})`
  ),
  Add: e(([a, b]) => `(${a} + ${b})`),
  Subtract: e(([a, b]) => `(${a} - ${b})`),
  Mult: e(([a, b]) => `(${a} * ${b})`),
  Divide: e(([a, b]) => `(${a} / ${b})`),
  Atan2: e(([a, b]) => `kt_atan2(${a}, ${b})`),
  Powf: e(([a, b]) => `kt_powf(${a}, ${b})`),
  Equal: e(([a, b]) => `select(0.0, 1.0, ${a} == ${b})`),
  // Not "a != b": drivers compare ordered, which is false for NaN where JavaScript's is true.
  NotEqual: e(([a, b]) => `select(1.0, 0.0, ${a} == ${b})`),
  LessThan: e(([a, b]) => `select(0.0, 1.0, ${a} < ${b})`),
  LessOrEqual: e(([a, b]) => `select(0.0, 1.0, ${a} <= ${b})`),
  Clamp: e(([x, lo, hi]) => `select(select(${x}, ${hi}, ${hi} < ${x}), ${lo}, ${x} < ${lo})`),
  IfElse: e(([x, t, f]) => `select(${f}, ${t}, ${x} >= 0.0)`),
  Sum: st((o, [a], n) => `${o}[0] = ${range(dim(n, 0)).map((k) => a(`${k}u`)).join(" + ")};`),
  SumT: st((o, [a], n) => range(n.dim).map((k) => `${o}[${k}] = ${a("0u")};`).join(" ")),
  Concat: st((o, [a, b], n) =>
    range(n.dim).map((k) => `${o}[${k}] = ${k < dim(n, 0) ? a(`${k}u`) : b(`${k - dim(n, 0)}u`)};`).join(" ")
  ),
  Elem: st((o, [a], n) => `${o}[0] = ${a(`${p(n, 0)}u`)};`),
  ElemT: st((o, [a], n) =>
    range(n.dim).map((k) => `${o}[${k}] = ${k === p(n, 1) ? a("0u") : "0.0"};`).join(" ")
  ),
  Extract: st((o, [a], n) => range(n.dim).map((k) => `${o}[${k}] = ${a(`${p(n, 0) + k}u`)};`).join(" ")),
  ExtractT: st((o, [a], n) =>
    range(n.dim).map((k) => {
      const src = k - p(n, 0);
      return `${o}[${k}] = ${src >= 0 && src < dim(n, 0) ? a(`${src}u`) : "0.0"};`;
    }).join(" ")
  ),
  Max: st((o, [a], n) => extremum(o, a, dim(n, 0), ">", false)),
  Min: st((o, [a], n) => extremum(o, a, dim(n, 0), "<", false)),
  ArgMax: st((o, [a], n) => extremum(o, a, dim(n, 0), ">", true)),
  ArgMin: st((o, [a], n) => extremum(o, a, dim(n, 0), "<", true)),
  OneHot: st((o, [a], n) =>
    `{ let t = trunc(${a("0u")} + 0.5); ` +
    range(n.dim).map((k) => `${o}[${k}] = select(0.0, 1.0, t == ${f32Literal(k)});`).join(" ") + " }"
  ),
  TensorDot: st((o, [a, b], n) => {
    const { fo, go, fc, gc } = tensorDotTables(n);
    if (fo.length * Math.max(1, fc.length) > 4096) {
      throw new RangeError(
        `TensorDot with ${fo.length * fc.length} products is too large for the WebGPU engine`,
      );
    }
    return range(fo.length).map((q) => {
      const terms = range(fc.length).map((c) => `${a(`${fo[q] + fc[c]}u`)} * ${b(`${go[q] + gc[c]}u`)}`);
      return `${o}[${q}] = ${terms.length ? terms.join(" + ") : "0.0"};`;
    }).join(" ");
  }),
  BSpline: st((o, [t, x], n) => {
    const K = dim(n, 0), order = p(n, 0);
    const kn = (j: string) => t(j);
    return `{ var b: array<f32, ${K}>; let xv = ${x("0u")};
      for (var j = 0u; j < ${K - 1}u; j++) { b[j] = select(0.0, 1.0, ${kn("j")} <= xv && xv < ${
      kn("j + 1u")
    }); }
      for (var q = 1u; q <= ${order}u; q++) { for (var j = 0u; j + q < ${K - 1}u; j++) {
        let d1 = ${kn("j + q")} - ${kn("j")}; let d2 = ${kn("j + q + 1u")} - ${kn("j + 1u")};
        b[j] = select((xv - ${kn("j")}) / d1, 0.0, d1 == 0.0) * b[j] + select((${
      kn("j + q + 1u")
    } - xv) / d2, 0.0, d2 == 0.0) * b[j + 1u];
      } }
      for (var j = 0u; j < ${n.dim}u; j++) { ${o}[j] = b[j]; } }`;
  }),
  SoftDTW_SqDist: st((o, [x, y, g], n) =>
    `${softDtwTable(x, dim(n, 0), y, dim(n, 1), g("0u"))} ${o}[0] = r[${dim(n, 0) * dim(n, 1) - 1}u]; }`
  ),
  GradSoftDTW_SqDist: st((o, [x, y, g], n) => {
    const [nx, ny] = [dim(n, 0), dim(n, 1)];
    return `${softDtwTable(x, nx, y, ny, g("0u"))}
      var E: array<f32, ${nx * ny}>;
      for (var q = 0u; q < ${nx * ny - 1}u; q++) { E[q] = 0.0; } // explicitly: some compilers hoist the var
      E[${nx * ny - 1}u] = 1.0;
      for (var ii = ${nx}; ii > 0; ii--) { for (var jj = ${ny}; jj > 0; jj--) {
        let i = u32(ii - 1); let j = u32(jj - 1); let v = E[i * ${ny}u + j];
        if (i == 0u && j > 0u) { E[j - 1u] += v; }
        else if (j == 0u && i > 0u) { E[(i - 1u) * ${ny}u] += v; }
        else if (i > 0u && j > 0u) {
          let a = r[(i - 1u) * ${ny}u + j - 1u]; let b = r[(i - 1u) * ${ny}u + j]; let c = r[i * ${ny}u + j - 1u];
          let m = min(a, min(b, c)); let ea = exp((m - a) / gam); let eb = exp((m - b) / gam); let ec = exp((m - c) / gam);
          let s = ea + eb + ec;
          E[(i - 1u) * ${ny}u + j - 1u] += v * ea / s; E[(i - 1u) * ${ny}u + j] += v * eb / s; E[i * ${ny}u + j - 1u] += v * ec / s;
        } } }
      for (var k = 0u; k < ${nx + ny}u; k++) { ${o}[k] = 0.0; }
      for (var i = 0u; i < ${nx}u; i++) { for (var j = 0u; j < ${ny}u; j++) {
        let gg = 2.0 * (xs[i] - ys[j]) * E[i * ${ny}u + j]; ${o}[i] += gg; ${o}[${nx}u + j] -= gg; } } }`;
  }),
};

function range(n: number): number[] {
  return [...Array(n).keys()];
}

function extremum(o: string, a: (k: string) => string, d: number, cmp: string, arg: boolean): string {
  let s = `{ var best = ${a("0u")}; var at = 0.0;`;
  for (let k = 1; k < d; k++) {
    s += ` if (${a(`${k}u`)} ${cmp} best) { best = ${a(`${k}u`)}; at = ${f32Literal(k)}; }`;
  }
  return s + ` ${o}[0] = ${arg ? "at" : "best"}; }`;
}

/** Opens a block computing the soft-DTW table r (n×m) of x and y; the caller closes it. */
function softDtwTable(
  x: (k: string) => string,
  nx: number,
  y: (k: string) => string,
  ny: number,
  gamma: string,
): string {
  return `{ var xs: array<f32, ${nx}>; var ys: array<f32, ${ny}>; let gam = ${gamma};
    for (var k = 0u; k < ${nx}u; k++) { xs[k] = ${x("k")}; } for (var k = 0u; k < ${ny}u; k++) { ys[k] = ${
    y("k")
  }; }
    var r: array<f32, ${nx * ny}>;
    for (var i = 0u; i < ${nx}u; i++) { for (var j = 0u; j < ${ny}u; j++) {
      let d = (xs[i] - ys[j]) * (xs[i] - ys[j]);
      if (i == 0u && j == 0u) { r[0] = d; }
      else if (i == 0u) { r[j] = d + r[j - 1u]; }
      else if (j == 0u) { r[i * ${ny}u] = d + r[(i - 1u) * ${ny}u]; }
      else {
        let a = r[(i - 1u) * ${ny}u + j - 1u]; let b = r[(i - 1u) * ${ny}u + j]; let c = r[i * ${ny}u + j - 1u];
        let m = min(a, min(b, c));
        r[i * ${ny}u + j] = d + m - gam * log(exp((m - a) / gam) + exp((m - b) / gam) + exp((m - c) / gam));
      } } }
`;
}
