/**
 * The npm package: `deno task build:npm` compiles the library (mod.ts and what it imports) with
 * TypeScript's compiler into `dist/npm/` — ES modules and their `.d.ts`, relative imports
 * rewritten from `.ts` to `.js` — and writes its `package.json` (`exports`, `types`,
 * `sideEffects: false`; the WebGPU types, which the declarations name, as a dependency that the
 * entry's declarations reference), the engine as `backends/wasm/engine.wasm` and the entry point
 * `@keops-ts/keops/edge` that imports it statically, and the TensorFlow.js entry
 * `@keops-ts/keops/tfjs` (TensorFlow.js a peer dependency). TypeScript, the WebGPU types and
 * TensorFlow.js's are this
 * script's own dependencies (build/deno.json, build/deno.lock), never the library's.
 *
 *     deno task build:npm        then   cd dist/npm && npm pack
 *
 * @module
 */

// deno-lint-ignore-file no-import-prefix
import ts from "npm:typescript@5.9.3";
// Installed into build/node_modules for the compiler (type-only imports: nothing runs).
import type {} from "npm:@webgpu/types@0.1.66";
import type {} from "npm:@tensorflow/tfjs-core@4.22.0";

const root = new URL("../", import.meta.url).pathname;
const out = root + "dist/npm/";
const config = JSON.parse(await Deno.readTextFile(root + "deno.json"));
const webgpuTypes = root + "build/node_modules/@webgpu/types/dist/index.d.ts";

await Deno.remove(out, { recursive: true }).catch(() => {});
const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
  types: [],
  strict: true,
  declaration: true,
  rewriteRelativeImportExtensions: true,
  allowImportingTsExtensions: true,
  erasableSyntaxOnly: true,
  skipLibCheck: true,
  rootDir: root,
  // The TensorFlow.js entry's peer, for its types (the package lists it as a peer dependency).
  paths: { "@tensorflow/tfjs-core": [root + "build/node_modules/@tensorflow/tfjs-core"] },
  outDir: out,
  newLine: ts.NewLineKind.LineFeed,
};
const program = ts.createProgram([root + "mod.ts", root + "tfjs/mod.ts", webgpuTypes], options);
const emitted = program.emit();
const problems = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
if (problems.length) {
  console.error(ts.formatDiagnosticsWithColorAndContext(problems, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => root,
    getNewLine: () => "\n",
  }));
  Deno.exit(1);
}
// The engine as a .wasm file, and the entry point of runtimes that refuse to compile WebAssembly
// at run time: its engine is a static import, which their bundlers (wrangler, Vercel's) and
// workerd turn into a WebAssembly.Module.
const { engineBytes } = await import("../backends/wasm/bytes.ts");
await Deno.writeFile(out + "backends/wasm/engine.wasm", engineBytes(false));
await Deno.writeTextFile(
  out + "edge.js",
  `// @keops-ts/keops for edge runtimes (Cloudflare Workers, Vercel Edge): the CPU engine from a
// static .wasm import, since these runtimes refuse to compile WebAssembly from bytes.
import engine from "./backends/wasm/engine.wasm";
import { setEngineModule } from "./mod.js";
setEngineModule(engine);
export * from "./mod.js";
`,
);
await Deno.writeTextFile(
  out + "edge.d.ts",
  `export * from "./mod.js";
`,
);
// The entry's declarations bring the WebGPU types they name.
const entry = out + "mod.d.ts";
await Deno.writeTextFile(entry, `/// <reference types="@webgpu/types" />\n` + await Deno.readTextFile(entry));

const pkg = {
  name: config.name,
  version: config.version,
  description:
    "KeOps's symbolic kernel reductions for JavaScript: K_ij = exp(-|x_i - y_j|²) reduced over millions of points without the M×N matrix, on WebGPU or WebAssembly SIMD.",
  license: config.license,
  type: "module",
  main: "./mod.js",
  types: "./mod.d.ts",
  exports: {
    ".": { types: "./mod.d.ts", default: "./mod.js" },
    "./edge": { types: "./edge.d.ts", default: "./edge.js" },
    "./tfjs": { types: "./tfjs/mod.d.ts", default: "./tfjs/mod.js" },
  },
  // Every module is free of side effects but the edge entry, which hands the engine over, and
  // the TensorFlow.js entry's, which installs its tensors as LazyTensor variables.
  sideEffects: ["./edge.js", "./tfjs/lazy.js"],
  dependencies: { "@webgpu/types": "^0.1.66" },
  // TensorFlow.js: the user's own, for the "./tfjs" entry only.
  peerDependencies: { "@tensorflow/tfjs-core": "^4.22.0" },
  peerDependenciesMeta: { "@tensorflow/tfjs-core": { optional: true } },
  keywords: ["keops", "kernel", "webgpu", "wasm", "simd", "nearest-neighbors", "optimal-transport"],
  engines: { node: ">=20.16" },
};
await Deno.writeTextFile(out + "package.json", JSON.stringify(pkg, null, 2) + "\n");
for (const f of ["README.md", "BENCHMARKS.md", "LICENSE"]) await Deno.copyFile(root + f, out + f);
let files = 0, bytes = 0;
for await (const e of walk(out)) {
  files++;
  bytes += (await Deno.stat(e)).size;
}
console.log(`dist/npm: ${files} files, ${(bytes / 1024).toFixed(0)} KiB`);

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) yield* walk(dir + e.name + "/");
    else yield dir + e.name;
  }
}
