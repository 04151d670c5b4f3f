// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { checkFile, checkImports, importsOf, parseLayers, reachable } from "./check_imports.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("check_imports: this repository follows ARCHITECTURE.md's layers", async () => {
  assert.deepEqual(await checkImports(root), []);
});

Deno.test("check_imports: the layer table makes records/ a leaf under engine, server, client", async () => {
  const layers = parseLayers(await Deno.readTextFile(`${root}/ARCHITECTURE.md`));
  assert.deepEqual(layers.get("records"), ["wasm"]);
  for (const user of ["engine", "server", "client"]) {
    assert.ok(reachable(layers, user).has("records"));
  }
  assert.ok(!reachable(layers, "engine").has("protocol"));
  assert.ok(!reachable(layers, "records").has("engine"));
});

Deno.test("check_imports: wrong arrows, test support and non-layers are reported", () => {
  const layers = parseLayers(
    "## Layers and import direction\n\n| layer | imports |\n| --- | --- |\n" +
      "| `server/` | `engine/`, `protocol/` |\n| `engine/` | `records/` |\n" +
      "| `records/` | `wasm/` |\n| `protocol/` | — |\n| `wasm/` | — |\n",
  );
  const check = (file: string, src: string) => checkFile(layers, file, src).map((v) => v.reason);
  assert.deepEqual(check("server/a.ts", 'import { x } from "../wasm/mod.ts";'), []); // via engine
  assert.deepEqual(check("records/a.ts", 'import type { X } from "../protocol/errors.ts";'), [
    "records/ may not import protocol/ (ARCHITECTURE.md: records/ → wasm/)",
  ]);
  assert.deepEqual(check("engine/a.ts", 'export { y } from "../server/y.ts";'), [
    "engine/ may not import server/ (ARCHITECTURE.md: engine/ → records/, wasm/)",
  ]);
  assert.deepEqual(check("wasm/a.ts", 'const m = await import("../records/mod.ts");'), [
    "wasm/ may not import records/ (ARCHITECTURE.md: wasm/ → nothing)",
  ]);
  assert.deepEqual(check("engine/a.ts", 'import { b } from "../wasm/testing.ts";'), [
    "source imports test support",
  ]);
  assert.deepEqual(check("engine/a.ts", 'import { b } from "../tests/harness.ts";'), [
    "engine/ may not import tests/ (not a layer)",
  ]);
  // Tests, benches and files outside the layers are free.
  assert.deepEqual(check("engine/a_test.ts", 'import { b } from "../server/mod.ts";'), []);
  assert.deepEqual(check("tests/a.ts", 'import { b } from "../server/mod.ts";'), []);
  // Comments and strings are not imports.
  assert.deepEqual(
    check(
      "records/a.ts",
      '/**\n * import { x } from "../server/x.ts";\n */\n// import "../engine/e.ts"\n' +
        'const s = \'import("../engine/e.ts")\';\nexport const from = "../engine/e.ts";\n',
    ),
    [],
  );
});

Deno.test("check_imports: importsOf() finds every form of import and re-export", () => {
  const src = [
    'import "./side.ts";',
    'import a, { b as c } from "./a.ts";',
    "import type { T } from './t.ts';",
    'import {\n  x,\n  y,\n} from "./multi.ts";',
    'export * from "./star.ts";',
    'export { z } from "./z.ts";',
    'const m = await import("./dyn.ts");',
    'export const url = "./not-an-import.ts";',
  ].join("\n");
  assert.deepEqual(importsOf(src), [
    "./side.ts",
    "./a.ts",
    "./t.ts",
    "./multi.ts",
    "./star.ts",
    "./z.ts",
    "./dyn.ts",
  ]);
});
