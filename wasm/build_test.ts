// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { buildWasm, checkWasm, renderEmbedded } from "./build.ts";
import { wasmBytesBase64 } from "./sluice_core_wasm.ts";

Deno.test("committed sluice_core.wasm and sluice_core_wasm.ts match a fresh build", async () => {
  const problems = await checkWasm();
  assert.deepEqual(problems, [], "run `deno task build:wasm` and commit the result");
});

Deno.test("the build is reproducible and the embedded copy holds the same bytes", async () => {
  const a = await buildWasm();
  const b = await buildWasm();
  assert.deepEqual(a.wasm, b.wasm);
  assert.equal(a.embedded, renderEmbedded(a.wasm));
  const embedded = Uint8Array.from(atob(wasmBytesBase64), (c) => c.charCodeAt(0));
  assert.deepEqual(embedded, a.wasm);
  // The module needs no imports (no abort, no env): it instantiates with {}.
  const module = new WebAssembly.Module(a.wasm as Uint8Array<ArrayBuffer>);
  assert.deepEqual(WebAssembly.Module.imports(module), []);
});
