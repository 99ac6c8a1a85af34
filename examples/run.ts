/**
 * The gallery of KeOps's tutorials: `deno task example NAME [--small]` runs one (`all` runs
 * each in turn). Each script checks itself against a naive computation and writes its figure
 * under examples/out/. `--small` runs them at the size of their plain-loop checks.
 *
 * @module
 */

const EXAMPLES = [
  "kmeans",
  "knn_mnist",
  "gmm",
  "gmm_tfjs",
  "interpolation",
  "sinkhorn",
  "mmd_flow",
  "mmd_flow_tfjs",
];
const name = Deno.args[0];
if (!name || (name !== "all" && !EXAMPLES.includes(name))) {
  console.error(
    `usage: deno task example NAME [--small], NAME one of: all, ${EXAMPLES.join(", ")}`,
  );
  Deno.exit(2);
}
for (const ex of name === "all" ? EXAMPLES : [name]) {
  console.log(`== ${ex}`);
  await import(`./${ex}.ts`);
}
// The CPU engine's idle workers stop on their own; nothing else keeps the process.
