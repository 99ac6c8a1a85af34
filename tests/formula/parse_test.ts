// The formula language: precedence, printing, parse∘print identity, and errors for bad text.
import assert from "node:assert/strict";
import { parseAliases, parseFormula, type VarSpec } from "../../formula/parse.ts";
import { printFormula } from "../../formula/print.ts";
import { Genred } from "../../mod.ts";
import { assertThrowsClass } from "../_helpers.ts";

const scope = new Map<string, VarSpec>([
  ["x", { ind: 0, dim: 3, cat: 0 }],
  ["y", { ind: 1, dim: 3, cat: 1 }],
  ["b", { ind: 2, dim: 1, cat: 1 }],
  ["p", { ind: 3, dim: 1, cat: 2 }],
  ["A", { ind: 4, dim: 9, cat: 2 }],
]);
const print = (s: string) => printFormula(parseFormula(s, scope));

Deno.test("the seed formula prints in KeOps's canonical form", () => {
  const s = new Map<string, VarSpec>([["x", { ind: 0, dim: 2, cat: 0 }], ["y", { ind: 1, dim: 2, cat: 1 }]]);
  assert.equal(printFormula(parseFormula("Sum((x - y) ** 2)", s)), "Sum(Square((Var(0,2,0) - Var(1,2,1))))");
});

Deno.test("operators follow Python's precedence", () => {
  assert.equal(print("-x**2"), "Minus(Square(Var(0,3,0)))");
  assert.equal(print("-p | x"), "(Minus(Var(3,1,2)) | Var(0,3,0))");
  assert.equal(print("x | y * 2"), "(Var(0,3,0) | (Var(1,3,1) * IntCst(2)))");
  assert.equal(print("x + y * b - p"), "((Var(0,3,0) + (Var(1,3,1) * Var(2,1,1))) - Var(3,1,2))");
  assert.equal(print("b < p + 1"), "LessThan(Var(2,1,1),(Var(3,1,2) + IntCst(1)))");
  assert.equal(print("b >= p"), "LessOrEqual(Var(3,1,2),Var(2,1,1))");
  assert.equal(print("b ** 3 ** 2"), print("b ** (3 ** 2)")); // right-associative
  assert.equal(print("x / 2"), "(Var(0,3,0) / IntCst(2))");
  assert.equal(print("1 / x"), "Inv(Var(0,3,0))");
});

Deno.test("powers map to Square, Pow, Sqrt, Rsqrt and Powf; float literals are constants", () => {
  assert.equal(print("x**2"), "Square(Var(0,3,0))");
  assert.equal(print("x**3"), "Pow(Var(0,3,0),3)");
  assert.equal(print("x**-1"), "Pow(Var(0,3,0),-1)");
  assert.equal(print("x**0.5"), "Sqrt(Var(0,3,0))");
  assert.equal(print("x**-0.5"), "Rsqrt(Var(0,3,0))");
  assert.equal(print("x**1.5"), "Powf(Var(0,3,0),1.5)");
  assert.equal(print("x**b"), "Powf(Var(0,3,0),Var(2,1,1))");
  assert.equal(print("Exp(-2.5*SqDist(x,y))"), "Exp((-2.5 * SqDist(Var(0,3,0),Var(1,3,1))))");
  assert.equal(print("0.5*x"), "(0.5 * Var(0,3,0))");
  assert.equal(print("1e-3*x + 2.0"), "((0.001 * Var(0,3,0)) + 2.0)");
});

Deno.test("== and != mean Equal and NotEqual", () => {
  assert.equal(print("b == p"), "Equal(Var(2,1,1),Var(3,1,2))");
  assert.equal(print("b != p"), "NotEqual(Var(2,1,1),Var(3,1,2))");
});

const CORPUS = [
  "Exp(-SqDist(x,y))*b",
  "Square(p-b)*Exp(Sum(x)+Sum(y))",
  "Sum((x - y) ** 2)",
  "Grad(Exp(-SqDist(x,y)), x, b)",
  "Diff(Exp(-SqDist(x,y)), x, y)",
  "Laplacian(Exp(-SqDist(x,y)), x)",
  "Divergence(x * b, x)",
  "GradMatrix(x * b, x)",
  "Kron(Extract(x, 0, 2), Extract(y, 1, 2), [2, 1], [1, 2],)",
  "TensorDot(A, x, [3, 3], [3], [1], [0])",
  "TensorDot(x, y, [3], [3], [], [], [1, 0])",
  "IfElse(b - p, x, y) + Clamp(x, p, b) + ClampInt(x, -1, 1)",
  "Mod(x, 2, 1) + Round(x, 3) + Pow(x, -2)",
  "Elem(x, 2) + ElemT(b, 3, 1) + OneHot(b, 3) + SumT(b, 3)",
  "Var(0,3,0) + Var(5,3,1)",
  "RatCst(1,3) * IntInv(-2) * IntCst(-4) * Zero(3)",
  "-2 * x - -2.5 + -b",
  "WeightedSqDist(A, x, y) + WeightedSqNorm(p, x) + SymSqNorm(A, x)",
  "BSpline(x, b, 1) | Normalize(Extract(y, 0, 1))",
  "(x < y) + (x <= y) + (x > y) + (x >= y) + (x == y) + (x != y)",
  "SoftDTW_SqDist(x, y, p) + Atan2(b, p) * Powf(b, p)",
  "1e-30 * x + 1.5e+300 * y",
];

Deno.test("parsing a printed formula gives back the same tree", () => {
  for (const src of CORPUS) {
    const tree = parseFormula(src, scope);
    const text = printFormula(tree);
    const again = parseFormula(text, new Map());
    assert.equal(printFormula(again), text, src);
    assert.deepEqual(
      JSON.stringify(again, ["op", "args", "params", "dim"]),
      JSON.stringify(tree, ["op", "args", "params", "dim"]),
      src,
    );
  }
});

Deno.test("aliases: implicit and explicit positions, nameless entries, Var", () => {
  const a = parseAliases(["x = Vi(3)", "y=Vj(2,4)", "Pm(1)", " z = Var(5, 2, 1) "]);
  assert.deepEqual(a.map((v) => [v.name, v.ind, v.dim, v.cat]), [
    ["x", 0, 3, 0],
    ["y", 2, 4, 1],
    [undefined, 2, 1, 2],
    ["z", 5, 2, 1],
  ]);
});

Deno.test("malformed formulas are SyntaxErrors naming the offset and what was expected", async () => {
  const cases: [string, RegExp][] = [
    ["Exp(x", /Cannot parse formula "Exp\(x": expected "," or "\)", found the end of the text at offset 5/],
    ["Exp(x))", /unexpected "\)" at offset 6/],
    ["(x + y", /expected "\)"/],
    ["x +", /expected a formula, found the end of the text at offset 3/],
    ["Foo(x)", /unknown operation "Foo" at offset 0/],
    ["x + z", /unknown name "z" at offset 4/],
    ["Exp(x, y)", /Exp expects 1 argument, found more/],
    ["Elem(x)", /Elem expects 2 arguments, got 1/],
    ["Elem(x, y)", /expected an integer, found "y"/],
    ["Elem(x, 1.5)", /expected an integer, found "1.5"/],
    ["Kron(x, y, 2, [1])", /expected "\[", found "2"/],
    ["x; Deno.exit(1)", /unexpected character ";" at offset 1/],
    ["x + `${1}`", /unexpected character "`"/],
    ["constructor(x)", /unknown operation "constructor"/],
    ["__proto__ + x", /unknown name "__proto__"/],
    ["x < y < b", /chained comparisons are not supported/],
    ["Vi(0, 3)", /only valid in the aliases list/],
    ["Exp", /operation "Exp" must be called with arguments/],
    ["Cst(2)", /unknown operation "Cst"/],
    ["Var(0,0,0)", /a dimension ≥ 1/],
  ];
  for (const [src, re] of cases) await assertThrowsClass(() => parseFormula(src, scope), SyntaxError, re);
});

Deno.test("dimension mismatches are TypeErrors naming both dimensions and the aliases", async () => {
  await assertThrowsClass(
    () => parseFormula("x + Extract(y, 0, 2)", scope),
    TypeError,
    /Add expects arguments of one dimension or of dimension 1, got "x" of dimension 3 and Extract\(Var\(1,3,1\),0,2\) of dimension 2/,
  );
  await assertThrowsClass(
    () => parseFormula("x | A", scope),
    TypeError,
    /"x" of dimension 3 and "A" of dimension 9/,
  );
  await assertThrowsClass(
    () => parseFormula("Elem(x, 3)", scope),
    RangeError,
    /Elem expects an index between 0 and 2, got 3/,
  );
  await assertThrowsClass(
    () => parseFormula("Grad(x, y + x, x)", scope),
    TypeError,
    /Grad differentiates with respect to a variable/,
  );
  await assertThrowsClass(
    () => parseFormula("MatVecMult(A, Extract(x, 0, 2))", scope),
    TypeError,
    /multiple of the vector's/,
  );
  await assertThrowsClass(() => parseFormula("RatCst(1, 0)", scope), RangeError, /nonzero denominator/);
  await assertThrowsClass(
    () => parseFormula("TensorDot(A, x, [3, 3], [3], [0, 1], [0])", scope),
    TypeError,
    /as many contracted axes/,
  );
});

Deno.test("bad aliases are errors that name them", async () => {
  await assertThrowsClass(() => parseAliases(["x = Vk(3)"]), SyntaxError, /Cannot parse alias "x = Vk\(3\)"/);
  await assertThrowsClass(
    () => parseAliases(["x = Vi(3)", "x = Vj(3)"]),
    SyntaxError,
    /"x" is defined twice/,
  );
  await assertThrowsClass(() => parseAliases(["Exp = Vi(3)"]), SyntaxError, /name of an operation/);
  await assertThrowsClass(() => parseAliases(["x = Vi(0)"]), RangeError, /dimension 0/);
  await assertThrowsClass(
    () => Genred("x", ["x = Vi(3)", "Var(0,2,0)"]),
    TypeError,
    /Argument 0 is declared twice/,
  );
  await assertThrowsClass(
    () => Genred("x + Var(2,3,1)", ["x = Vi(3)"]),
    TypeError,
    /No alias or Var\(\.\.\.\) declares argument position 1/,
  );
});
