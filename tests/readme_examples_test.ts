// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The README's examples that need a running broker (transactions, Streams) are fenced
// ```ts ignore, so `deno test --doc` does not run them; this test type-checks them instead, as
// modules of this package (`@sluice/sluice` resolves to it), so they cannot go stale.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The bodies of the README's ```ts ignore blocks. */
export function ignoredExamples(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts ignore\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

Deno.test("ignoredExamples: only ```ts ignore blocks, whole", () => {
  const md =
    "```ts\nrun();\n```\n\n```ts ignore\nconst a = 1;\n\nconst b = a;\n```\n```sh\nx\n```\n";
  assertEquals(ignoredExamples(md), ["const a = 1;\n\nconst b = a;\n"]);
});

Deno.test("README: the examples not run by deno test --doc type-check", async () => {
  const examples = ignoredExamples(await Deno.readTextFile(join(root, "README.md")));
  assertEquals(examples.length, 3); // transactions, Streams word count, windowed aggregation
  const files = examples.map((_, i) => join(root, `.readme_example_${Deno.pid}_${i}.ts`));
  try {
    for (const [i, body] of examples.entries()) await Deno.writeTextFile(files[i], body);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", ...files],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    ok(out.success, `deno check of the README's examples failed:\n${stderr}`);
  } finally {
    for (const f of files) await Deno.remove(f).catch(() => {});
  }
});
