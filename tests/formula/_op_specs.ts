/**
 * Test specifications of every operation: a formula over the variables a, b, c, their
 * dimensions and domains, and a dense computation of one output written here, independently of
 * the library's table.
 *
 * @module
 */

export type Dense = (a: number[], b: number[], c: number[]) => number[];

export interface OpSpec {
  /** The operations this spec covers. */
  ops: string[];
  formula: string;
  dims: number[];
  /** Domain [lo, hi) of each argument, or "ints" for values in {0, 1, 2} (ties). */
  dom?: ([number, number] | "ints" | "sorted")[];
  dense: Dense;
  /** Whether to check the gradient against finite differences (default true). */
  grad?: boolean;
  /** The arguments to differentiate with respect to (default all). */
  gradVars?: number[];
}

const range = (n: number) => [...Array(n).keys()];
const at = (v: number[], k: number) => v[v.length === 1 ? 0 : k];
const ew1 = (f: (x: number) => number): Dense => (a) => a.map(f);
const ew2 = (f: (x: number, y: number) => number): Dense => (a, b) =>
  range(Math.max(a.length, b.length)).map((k) => f(at(a, k), at(b, k)));
const ew3 = (f: (x: number, y: number, z: number) => number): Dense => (a, b, c) =>
  range(Math.max(a.length, b.length, c.length)).map((k) => f(at(a, k), at(b, k), at(c, k)));
const sum = (v: number[]) => v.reduce((s, x) => s + x, 0);
const matmul = (A: number[], n: number, p: number, B: number[], q: number) =>
  range(n * q).map((o) => sum(range(p).map((k) => A[Math.floor(o / q) * p + k] * B[k * q + (o % q)])));

function bspline(t: number[], x: number, order: number): number[] {
  const B = (j: number, p: number): number => {
    if (p === 0) return t[j] <= x && x < t[j + 1] ? 1 : 0;
    const l = t[j + p] - t[j] === 0 ? 0 : ((x - t[j]) / (t[j + p] - t[j])) * B(j, p - 1);
    const r = t[j + p + 1] - t[j + 1] === 0
      ? 0
      : ((t[j + p + 1] - x) / (t[j + p + 1] - t[j + 1])) * B(j + 1, p - 1);
    return l + r;
  };
  return range(t.length - order - 1).map((j) => B(j, order));
}

function softDtw(x: number[], y: number[], g: number): number {
  const R = range(x.length + 1).map(() => new Array(y.length + 1).fill(Infinity));
  R[0][0] = 0;
  const softmin = (...v: number[]) => {
    const m = Math.min(...v);
    return m - g * Math.log(sum(v.map((z) => Math.exp(-(z - m) / g))));
  };
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      R[i][j] = (x[i - 1] - y[j - 1]) ** 2 + softmin(R[i - 1][j - 1], R[i - 1][j], R[i][j - 1]);
    }
  }
  return R[x.length][y.length];
}

const roundAway = (v: number, d: number) => (Math.sign(v) * Math.round(Math.abs(v) * 10 ** d)) / 10 ** d;
const POS: [number, number] = [0.3, 2];

/** The specs: each operation of the table appears in at least one. */
export const SPECS: OpSpec[] = [
  { ops: ["Abs"], formula: "Abs(a)", dims: [3], dense: ew1(Math.abs) },
  { ops: ["Acos"], formula: "Acos(a)", dims: [3], dom: [[-0.9, 0.9]], dense: ew1(Math.acos) },
  { ops: ["Asin"], formula: "Asin(a)", dims: [3], dom: [[-0.9, 0.9]], dense: ew1(Math.asin) },
  { ops: ["Atan"], formula: "Atan(a)", dims: [3], dom: [[-3, 3]], dense: ew1(Math.atan) },
  { ops: ["Cos"], formula: "Cos(a)", dims: [3], dom: [[-3, 3]], dense: ew1(Math.cos) },
  { ops: ["Sin"], formula: "Sin(a)", dims: [3], dom: [[-3, 3]], dense: ew1(Math.sin) },
  { ops: ["Exp"], formula: "Exp(a)", dims: [3], dense: ew1(Math.exp) },
  { ops: ["Log"], formula: "Log(a)", dims: [3], dom: [POS], dense: ew1(Math.log) },
  { ops: ["Floor"], formula: "Floor(a)", dims: [3], dom: [[-3, 3]], dense: ew1(Math.floor) },
  { ops: ["Inv"], formula: "Inv(a)", dims: [3], dom: [POS], dense: ew1((x) => 1 / x) },
  { ops: ["Minus"], formula: "-a", dims: [3], dense: ew1((x) => -x) },
  { ops: ["ReLU"], formula: "ReLU(a)", dims: [3], dense: ew1((x) => Math.max(x, 0)) },
  { ops: ["Rsqrt"], formula: "Rsqrt(a)", dims: [3], dom: [POS], dense: ew1((x) => 1 / Math.sqrt(x)) },
  { ops: ["Sign"], formula: "Sign(a)", dims: [3], dense: ew1(Math.sign) },
  {
    ops: ["SinXDivX"],
    formula: "SinXDivX(a)",
    dims: [3],
    dom: [[-4, 4]],
    dense: ew1((x) => Math.sin(x) / x),
  },
  { ops: ["Sqrt"], formula: "Sqrt(a)", dims: [3], dom: [POS], dense: ew1(Math.sqrt) },
  { ops: ["Square"], formula: "Square(a)", dims: [3], dense: ew1((x) => x * x) },
  { ops: ["Step"], formula: "Step(a)", dims: [3], dense: ew1((x) => (x >= 0 ? 1 : 0)) },
  { ops: ["XLogX"], formula: "XLogX(a)", dims: [3], dom: [POS], dense: ew1((x) => x * Math.log(x)) },
  { ops: ["Pow"], formula: "Pow(a,3)", dims: [3], dense: ew1((x) => x * x * x) },
  { ops: ["Pow"], formula: "Pow(a,-2)", dims: [3], dom: [POS], dense: ew1((x) => 1 / (x * x)) },
  { ops: ["Round"], formula: "Round(a,2)", dims: [3], dom: [[-3, 3]], dense: ew1((x) => roundAway(x, 2)) },
  {
    ops: ["ClampInt"],
    formula: "ClampInt(a,-1,1)",
    dims: [3],
    dom: [[-2, 2]],
    dense: ew1((x) => Math.min(1, Math.max(-1, x))),
  },
  {
    ops: ["DiffClampInt"],
    formula: "DiffClampInt(a,-1,1)",
    dims: [3],
    dom: [[-2, 2]],
    dense: ew1((x) => (x >= -1 && x <= 1 ? 1 : 0)),
  },
  { ops: ["Add"], formula: "a + b", dims: [3, 3], dense: ew2((x, y) => x + y) },
  { ops: ["Add"], formula: "a + b", dims: [3, 1], dense: ew2((x, y) => x + y) },
  { ops: ["Subtract"], formula: "a - b", dims: [1, 3], dense: ew2((x, y) => x - y) },
  { ops: ["Mult"], formula: "a * b", dims: [3, 1], dense: ew2((x, y) => x * y) },
  { ops: ["Divide"], formula: "a / b", dims: [3, 3], dom: [[-1, 1], POS], dense: ew2((x, y) => x / y) },
  { ops: ["Atan2"], formula: "Atan2(a, b)", dims: [3, 3], dense: ew2(Math.atan2) },
  { ops: ["Powf"], formula: "Powf(a, b)", dims: [3, 1], dom: [POS, [-2, 2]], dense: ew2(Math.pow) },
  {
    ops: ["Equal"],
    formula: "Equal(a, b)",
    dims: [3, 3],
    dom: ["ints", "ints"],
    dense: ew2((x, y) => +(x === y)),
    grad: false,
  },
  {
    ops: ["NotEqual"],
    formula: "NotEqual(a, b)",
    dims: [3, 3],
    dom: ["ints", "ints"],
    dense: ew2((x, y) => +(x !== y)),
    grad: false,
  },
  {
    ops: ["LessThan"],
    formula: "a < b",
    dims: [3, 3],
    dom: ["ints", "ints"],
    dense: ew2((x, y) => +(x < y)),
    grad: false,
  },
  { ops: ["LessThan"], formula: "a > b", dims: [3, 1], dense: ew2((x, y) => +(x > y)) },
  {
    ops: ["LessOrEqual"],
    formula: "a <= b",
    dims: [3, 3],
    dom: ["ints", "ints"],
    dense: ew2((x, y) => +(x <= y)),
    grad: false,
  },
  {
    ops: ["LessOrEqual"],
    formula: "a >= b",
    dims: [3, 3],
    dom: ["ints", "ints"],
    dense: ew2((x, y) => +(x >= y)),
    grad: false,
  },
  { ops: ["Equal", "NotEqual"], formula: "(a == b) + (a != b)", dims: [3, 3], dense: () => [1, 1, 1] },
  {
    ops: ["Clamp"],
    formula: "Clamp(a, b, c)",
    dims: [3, 1, 1],
    dom: [[-2, 2], [-1, -0.2], [0.2, 1]],
    dense: ew3((x, lo, hi) => (x < lo ? lo : x > hi ? hi : x)),
  },
  { ops: ["IfElse"], formula: "IfElse(a, b, c)", dims: [3, 3, 3], dense: ew3((x, p, q) => (x >= 0 ? p : q)) },
  {
    ops: ["Mod"],
    formula: "Mod(a, b, c)",
    dims: [3, 1, 1],
    dom: [[-3, 3], [0.5, 2], [-1, 1]],
    dense: ew3((x, n, d) => x - n * Math.floor((x - d) / n)),
  },
  { ops: ["Sum"], formula: "Sum(a)", dims: [4], dense: (a) => [sum(a)] },
  { ops: ["SumT"], formula: "SumT(a, 4)", dims: [1], dense: (a) => [a[0], a[0], a[0], a[0]] },
  { ops: ["Concat"], formula: "Concat(a, b)", dims: [2, 3], dense: (a, b) => [...a, ...b] },
  { ops: ["Elem"], formula: "Elem(a, 2)", dims: [4], dense: (a) => [a[2]] },
  { ops: ["ElemT"], formula: "ElemT(a, 4, 1)", dims: [1], dense: (a) => [0, a[0], 0, 0] },
  { ops: ["Extract"], formula: "Extract(a, 1, 2)", dims: [4], dense: (a) => [a[1], a[2]] },
  { ops: ["ExtractT"], formula: "ExtractT(a, 1, 5)", dims: [2], dense: (a) => [0, a[0], a[1], 0, 0] },
  { ops: ["Max"], formula: "Max(a)", dims: [5], dense: (a) => [Math.max(...a)] },
  { ops: ["Min"], formula: "Min(a)", dims: [5], dense: (a) => [Math.min(...a)] },
  {
    ops: ["ArgMax"],
    formula: "ArgMax(a)",
    dims: [5],
    dom: ["ints"],
    dense: (a) => [a.indexOf(Math.max(...a))],
    grad: false,
  },
  {
    ops: ["ArgMin"],
    formula: "ArgMin(a)",
    dims: [5],
    dom: ["ints"],
    dense: (a) => [a.indexOf(Math.min(...a))],
    grad: false,
  },
  {
    ops: ["ArgMin", "ArgMax"],
    formula: "ArgMin(a) + ArgMax(a)",
    dims: [5],
    dense: (a) => [a.indexOf(Math.min(...a)) + a.indexOf(Math.max(...a))],
  },
  {
    ops: ["OneHot"],
    formula: "OneHot(a, 4)",
    dims: [1],
    dom: [[0, 3.4]],
    dense: (a) => range(4).map((k) => +(k === Math.floor(a[0] + 0.5))),
  },
  {
    ops: ["TensorDot"],
    formula: "TensorDot(a, b, [2, 3], [3, 2], [1], [0])",
    dims: [6, 6],
    dense: (a, b) => matmul(a, 2, 3, b, 2),
  },
  {
    ops: ["TensorDot"],
    formula: "TensorDot(a, b, [2, 3], [3, 4], [1], [0], [1, 0])",
    dims: [6, 12],
    dense: (a, b) => {
      const P = matmul(a, 2, 3, b, 4); // 2×4, output is its transpose 4×2
      return range(8).map((o) => P[(o % 2) * 4 + Math.floor(o / 2)]);
    },
  },
  {
    ops: ["TensorDot"],
    formula: "TensorDot(a, b, [2, 3], [2, 3], [0, 1], [0, 1])",
    dims: [6, 6],
    dense: (a, b) => [sum(a.map((x, k) => x * b[k]))],
  },
  {
    ops: ["BSpline"],
    formula: "BSpline(a, b, 2)",
    dims: [6, 1],
    dom: ["sorted", [0.1, 0.9]],
    dense: (a, b) => bspline(a, b[0], 2),
    grad: false,
  },
  {
    ops: ["BSpline"],
    formula: "BSpline(a, b, 0)",
    dims: [4, 1],
    dom: ["sorted", [0.1, 0.9]],
    dense: (a, b) => bspline(a, b[0], 0),
    grad: false,
  },
  {
    ops: ["SoftDTW_SqDist", "GradSoftDTW_SqDist"],
    formula: "SoftDTW_SqDist(a, b, c)",
    dims: [4, 3, 1],
    dom: [[-1, 1], [-1, 1], [0.5, 1.5]],
    dense: (a, b, c) => [softDtw(a, b, c[0])],
    gradVars: [0, 1],
  },
  { ops: ["SqNorm2"], formula: "SqNorm2(a)", dims: [3], dense: (a) => [sum(a.map((x) => x * x))] },
  {
    ops: ["SqDist"],
    formula: "SqDist(a, b)",
    dims: [3, 3],
    dense: (a, b) => [sum(a.map((x, k) => (x - b[k]) ** 2))],
  },
  {
    ops: ["SqDist"],
    formula: "SqDist(a, b)",
    dims: [3, 1],
    dense: (a, b) => [sum(a.map((x) => (x - b[0]) ** 2))],
  },
  { ops: ["Norm2"], formula: "Norm2(a)", dims: [3], dense: (a) => [Math.hypot(...a)] },
  {
    ops: ["Normalize"],
    formula: "Normalize(a)",
    dims: [3],
    dense: (a) => a.map((x) => x / Math.hypot(...a)),
  },
  { ops: ["Scalprod"], formula: "a | b", dims: [3, 3], dense: (a, b) => [sum(a.map((x, k) => x * b[k]))] },
  { ops: ["Scalprod"], formula: "Scalprod(a, b)", dims: [1, 3], dense: (a, b) => [a[0] * sum(b)] },
  {
    ops: ["SqNormDiag"],
    formula: "SqNormDiag(a, b)",
    dims: [3, 3],
    dense: (s, f) => [sum(f.map((x, k) => s[k] * x * x))],
  },
  {
    ops: ["SqNormIso"],
    formula: "SqNormIso(a, b)",
    dims: [1, 3],
    dense: (s, f) => [s[0] * sum(f.map((x) => x * x))],
  },
  {
    ops: ["SymSqNorm"],
    formula: "SymSqNorm(a, b)",
    dims: [9, 3],
    dense: (A, x) => [sum(range(9).map((o) => A[o] * x[Math.floor(o / 3)] * x[o % 3]))],
  },
  {
    ops: ["WeightedSqNorm"],
    formula: "WeightedSqNorm(a, b)",
    dims: [1, 3],
    dense: (s, f) => [s[0] * sum(f.map((x) => x * x))],
  },
  {
    ops: ["WeightedSqNorm"],
    formula: "WeightedSqNorm(a, b)",
    dims: [3, 3],
    dense: (s, f) => [sum(f.map((x, k) => s[k] * x * x))],
  },
  {
    ops: ["WeightedSqNorm"],
    formula: "WeightedSqNorm(a, b)",
    dims: [4, 2],
    dense: (A, x) => [sum(range(4).map((o) => A[o] * x[Math.floor(o / 2)] * x[o % 2]))],
  },
  {
    ops: ["WeightedSqDist"],
    formula: "WeightedSqDist(a, b, c)",
    dims: [3, 3, 3],
    dense: (s, f, g) => [sum(f.map((x, k) => s[k] * (x - g[k]) ** 2))],
  },
  { ops: ["MatVecMult"], formula: "MatVecMult(a, b)", dims: [6, 3], dense: (A, b) => matmul(A, 2, 3, b, 1) },
  { ops: ["VecMatMult"], formula: "VecMatMult(a, b)", dims: [2, 6], dense: (b, A) => matmul(b, 1, 2, A, 3) },
  {
    ops: ["TensorProd"],
    formula: "TensorProd(a, b)",
    dims: [2, 3],
    dense: (a, b) => range(6).map((o) => a[Math.floor(o / 3)] * b[o % 3]),
  },
  {
    ops: ["Kron"],
    formula: "Kron(a, b, [2, 2], [2, 3])",
    dims: [4, 6],
    dense: (a, b) =>
      range(24).map((o) => {
        const r = Math.floor(o / 6), c = o % 6; // (4×6) = kron of (2×2) and (2×3)
        return a[Math.floor(r / 2) * 2 + Math.floor(c / 3)] * b[(r % 2) * 3 + (c % 3)];
      }),
  },
  {
    ops: ["IntInv", "IntCst", "RatCst"],
    formula: "IntInv(4) * a + RatCst(1, 3) - IntCst(2)",
    dims: [1],
    dense: (a) => [a[0] / 4 + 1 / 3 - 2],
  },
  { ops: ["Zero", "Cst"], formula: "Zero(3) + 2.5 * a", dims: [3], dense: ew1((x) => 2.5 * x) },
  // ---- complex operations: interleaved [re, im, …], written here with complex arithmetic ----
  { ops: ["ComplexReal"], formula: "ComplexReal(a)", dims: [6], dense: (a) => cx(a).map((z) => z[0]) },
  { ops: ["ComplexImag"], formula: "ComplexImag(a)", dims: [6], dense: (a) => cx(a).map((z) => z[1]) },
  { ops: ["Real2Complex"], formula: "Real2Complex(a)", dims: [3], dense: (a) => flat(a.map((x) => [x, 0])) },
  { ops: ["Imag2Complex"], formula: "Imag2Complex(a)", dims: [2], dense: (a) => flat(a.map((x) => [0, x])) },
  { ops: ["Conj"], formula: "Conj(a)", dims: [4], dense: (a) => flat(cx(a).map(([x, y]) => [x, -y])) },
  {
    ops: ["ComplexSquareAbs"],
    formula: "ComplexSquareAbs(a)",
    dims: [4],
    dense: (a) => cx(a).map(([x, y]) => x * x + y * y),
  },
  {
    ops: ["ComplexAbs"],
    formula: "ComplexAbs(a)",
    dims: [4],
    dom: [[0.2, 1]],
    dense: (a) => cx(a).map(([x, y]) => Math.hypot(x, y)),
  },
  {
    ops: ["ComplexAngle"],
    formula: "ComplexAngle(a)",
    dims: [4],
    dom: [[0.2, 1]],
    dense: (a) => cx(a).map(([x, y]) => Math.atan2(y, x)),
  },
  {
    ops: ["ComplexAdd"],
    formula: "ComplexAdd(a, b)",
    dims: [4, 4],
    dense: cw((z, w) => [z[0] + w[0], z[1] + w[1]]),
  },
  {
    ops: ["ComplexAdd"],
    formula: "ComplexAdd(a, b)",
    dims: [4, 2],
    dense: cw((z, w) => [z[0] + w[0], z[1] + w[1]]),
  },
  {
    ops: ["ComplexSubtract"],
    formula: "ComplexSubtract(a, b)",
    dims: [2, 6],
    dense: cw((z, w) => [z[0] - w[0], z[1] - w[1]]),
  },
  { ops: ["ComplexMult"], formula: "ComplexMult(a, b)", dims: [4, 4], dense: cw(cmul) },
  { ops: ["ComplexMult"], formula: "ComplexMult(a, b)", dims: [6, 2], dense: cw(cmul) },
  {
    ops: ["ComplexDivide"],
    formula: "ComplexDivide(a, b)",
    dims: [4, 4],
    dom: [[-1, 1], [0.3, 1]],
    dense: cw((z, w) => {
      const d = w[0] * w[0] + w[1] * w[1];
      return [(z[0] * w[0] + z[1] * w[1]) / d, (z[1] * w[0] - z[0] * w[1]) / d];
    }),
  },
  {
    ops: ["ComplexRealScal"],
    formula: "ComplexRealScal(a, b)",
    dims: [1, 4],
    dense: (a, b) => b.map((x) => a[0] * x),
  },
  {
    ops: ["ComplexRealScal"],
    formula: "ComplexRealScal(a, b)",
    dims: [4, 1],
    dense: (a, b) => a.map((x) => b[0] * x),
  },
  {
    ops: ["ComplexExp"],
    formula: "ComplexExp(a)",
    dims: [4],
    dense: (a) => flat(cx(a).map(([x, y]) => [Math.exp(x) * Math.cos(y), Math.exp(x) * Math.sin(y)])),
  },
  {
    ops: ["ComplexExp1j"],
    formula: "ComplexExp1j(a)",
    dims: [3],
    dense: (a) => flat(a.map((t) => [Math.cos(t), Math.sin(t)])),
  },
  {
    ops: ["ComplexSum"],
    formula: "ComplexSum(a)",
    dims: [6],
    dense: (a) => cx(a).reduce((s, z) => [s[0] + z[0], s[1] + z[1]], [0, 0]),
  },
  { ops: ["ComplexSumT"], formula: "ComplexSumT(a, 6)", dims: [2], dense: (a) => [...a, ...a, ...a] },
  {
    ops: ["ComplexMult", "Conj", "ComplexExp1j", "ComplexReal"],
    formula: "ComplexReal(ComplexMult(Conj(a), ComplexExp1j(b)))",
    dims: [4, 2],
    dense: (a, b) => cx(a).map((z, k) => z[0] * Math.cos(b[k]) + z[1] * Math.sin(b[k])),
  },
];

/** Complex entries of an interleaved array. */
function cx(v: number[]): [number, number][] {
  return range(v.length / 2).map((k) => [v[2 * k], v[2 * k + 1]]);
}
function flat(v: number[][]): number[] {
  return v.flat();
}
function cmul(z: [number, number], w: [number, number]): [number, number] {
  return [z[0] * w[0] - z[1] * w[1], z[0] * w[1] + z[1] * w[0]];
}
/** A complex binary operation entry by entry; a single complex number broadcasts. */
function cw(f: (z: [number, number], w: [number, number]) => number[]): Dense {
  return (a, b) => {
    const z = cx(a), w = cx(b), n = Math.max(z.length, w.length);
    return flat(range(n).map((k) => f(z[z.length === 1 ? 0 : k], w[w.length === 1 ? 0 : k])));
  };
}
