/**
 * The floors of the source: the formula layer (`formula/`) imports no engine and no API,
 * the engines (`backends/`) import the formula layer but never the API (`lazy/`), and the API
 * sits on both; the TensorFlow.js wrapper (`tfjs/`) on the API, the only code that imports
 * TensorFlow.js. Read from the import statements of every source file.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** The relative `.ts` imports of every source file under a folder, resolved from the root. */
function importsUnder(folder: string): { file: string; target: string }[] {
  const out: { file: string; target: string }[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(new URL(dir, ROOT))) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (e.name.endsWith(".ts")) {
        const text = Deno.readTextFileSync(new URL(path, ROOT));
        for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^"']*?from\s*["'](\.[^"']+)["']/g)) {
          const target = new URL(m[1], new URL(path, ROOT)).pathname.slice(ROOT.pathname.length);
          out.push({ file: path, target });
        }
      }
    }
  };
  walk(folder);
  return out;
}

Deno.test("the formula layer imports nothing outside formula/", () => {
  const bad = importsUnder("formula").filter((i) => !i.target.startsWith("formula/"));
  assert.deepEqual(bad, []);
});

Deno.test("the engines import the formula layer and each other, never the API", () => {
  const all = importsUnder("backends");
  assert.ok(all.some((i) => i.target.startsWith("formula/")), "the engines read the formula layer");
  const bad = all.filter((i) => !i.target.startsWith("formula/") && !i.target.startsWith("backends/"));
  assert.deepEqual(bad, []);
});

Deno.test("the TensorFlow.js wrapper sits on top: nothing below imports it, nor TensorFlow.js itself", () => {
  for (const folder of ["formula", "backends", "lazy"]) {
    assert.deepEqual(importsUnder(folder).filter((i) => i.target.startsWith("tfjs/")), []);
  }
  assert.ok(importsUnder("tfjs").some((i) => i.target.startsWith("lazy/")), "the wrapper reads the API");
  const mentions = (dir: string): string[] =>
    [...Deno.readDirSync(new URL(dir, ROOT))].flatMap((e) =>
      e.isDirectory ? mentions(`${dir}/${e.name}`) : e.name.endsWith(".ts") &&
          /from\s*["']@tensorflow\//.test(Deno.readTextFileSync(new URL(`${dir}/${e.name}`, ROOT)))
        ? [`${dir}/${e.name}`]
        : []
    );
  assert.deepEqual(["formula", "backends", "lazy"].flatMap(mentions), []);
  assert.ok(!/@tensorflow\//.test(Deno.readTextFileSync(new URL("mod.ts", ROOT))));
});
