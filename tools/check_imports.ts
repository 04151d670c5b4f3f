// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Fails when an import runs against the layers ARCHITECTURE.md draws, as std's
 * `_tools/check_circular_package_dependencies.ts` guards its packages. The allowed arrows are read
 * from ARCHITECTURE.md's layer table (`| \`engine/\` | \`records/\`, \`wasm/\` |`): a layer's
 * source files may import their own layer and any layer reachable along the arrows, nothing else
 * of ours (no layer beside or above it, no `tests/`, `bench/` or `tools/`), and no test support
 * (`testing.ts`, `testdata/`). Tests and benches (`*_test.ts`, `*_bench.ts`, `testing.ts`,
 * `testdata/`) may import anything: they start brokers and drive clients.
 *
 * Run: `deno task check:imports` (exit status 1 and one line per wrong import).
 *
 * @module
 */

/** The arrows of the layer table: layer → layers it imports directly. */
export type Layers = Map<string, string[]>;

/**
 * Reads the layer table of ARCHITECTURE.md: rows `| \`layer/\` | \`a/\`, \`b/\` |` (or `—` for
 * none) in the section "Layers and import direction".
 *
 * @example
 * ```ts
 * import { parseLayers } from "./check_imports.ts";
 * const md = "## Layers and import direction\n\n| layer | imports |\n| --- | --- |\n" +
 *   "| `engine/` | `wasm/` |\n| `wasm/` | — |\n\n## Next\n";
 * console.assert(parseLayers(md).get("engine")![0] === "wasm");
 * ```
 *
 * @param markdown The text of ARCHITECTURE.md.
 * @returns The arrows.
 * @throws {Error} If the section or its table is missing, or an arrow names an unknown layer.
 */
export function parseLayers(markdown: string): Layers {
  const start = markdown.indexOf("## Layers and import direction");
  if (start < 0) throw new Error("ARCHITECTURE.md: no section 'Layers and import direction'");
  const end = markdown.indexOf("\n## ", start + 3);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const layers: Layers = new Map();
  for (const line of section.split("\n")) {
    const m = line.match(/^\|\s*`([a-z_]+)\/`\s*\|(.*)\|\s*$/);
    if (!m) continue;
    const targets = [...m[2].matchAll(/`([a-z_]+)\/`/g)].map((t) => t[1]);
    layers.set(m[1], targets);
  }
  if (layers.size === 0) throw new Error("ARCHITECTURE.md: the layer table has no rows");
  for (const [layer, targets] of layers) {
    for (const t of targets) {
      if (!layers.has(t)) throw new Error(`ARCHITECTURE.md: ${layer}/ imports unknown layer ${t}/`);
    }
  }
  return layers;
}

/**
 * Every layer reachable from `layer` along the arrows, itself included.
 *
 * @example
 * ```ts
 * import { reachable } from "./check_imports.ts";
 * const layers = new Map([["a", ["b"]], ["b", ["c"]], ["c", []]]);
 * console.assert([...reachable(layers, "a")].join() === "a,b,c");
 * ```
 *
 * @param layers The arrows.
 * @param layer Where to start.
 * @returns The reachable layers.
 */
export function reachable(layers: Layers, layer: string): Set<string> {
  const seen = new Set<string>([layer]);
  const todo = [layer];
  while (todo.length > 0) {
    for (const next of layers.get(todo.pop()!) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        todo.push(next);
      }
    }
  }
  return seen;
}

/**
 * The module specifiers a TypeScript file imports or re-exports (static and dynamic), with
 * comments and the insides of other strings skipped so JSDoc examples do not count.
 *
 * @example
 * ```ts
 * import { importsOf } from "./check_imports.ts";
 * const src = '/** import { x } from "./no.ts"; *\/\nimport { a } from "./a.ts";\n' +
 *   'export * from "./b.ts";\nconst s = "import c from \'./c.ts\'";\nawait import("./d.ts");';
 * console.assert(importsOf(src).join() === "./a.ts,./b.ts,./d.ts");
 * ```
 *
 * @param source The file's text.
 * @returns The specifiers, in order.
 */
export function importsOf(source: string): string[] {
  // Blank out comments and string contents (keeping the quotes), then read the statements.
  let code = "";
  const strings: string[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const close = source.indexOf("*/", i + 2);
      i = close < 0 ? source.length : close + 2;
      code += " ";
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) {
        if (source[j] === "\\") j++;
        j++;
      }
      strings.push(source.slice(i + 1, j));
      code += `${c}${strings.length - 1}${c}`;
      i = j + 1;
    } else {
      code += c;
      i++;
    }
  }
  const out: string[] = [];
  // import "x" | import … from "x" / export … from "x" | import("x")
  const re =
    /(?:^|[;\n}])\s*import\s*(["'])(\d+)\1|(?:^|[;\n}])\s*(?:import|export)\b[^;"'`]*?\bfrom\s*(["'])(\d+)\3|\bimport\s*\(\s*(["'])(\d+)\5\s*\)/g;
  for (const m of code.matchAll(re)) out.push(strings[Number(m[2] ?? m[4] ?? m[6])]);
  return out;
}

/** Whether a path is test or bench code (free to import anything). */
function isTestCode(path: string): boolean {
  return /(_test|_bench)\.ts$/.test(path) || /(^|\/)testing\.ts$/.test(path) ||
    /(^|\/)testdata\//.test(path);
}

/** One import against the arrows. */
export interface Violation {
  /** The importing file, relative to the root. */
  file: string;
  /** The imported path, relative to the root. */
  target: string;
  /** Why it is refused. */
  reason: string;
}

/**
 * Checks one source file's imports against the arrows.
 *
 * @example
 * ```ts
 * import { checkFile } from "./check_imports.ts";
 * const layers = new Map([["engine", ["wasm"]], ["wasm", []], ["server", ["engine"]]]);
 * const v = checkFile(layers, "engine/log.ts", 'import { x } from "../server/y.ts";');
 * console.assert(v.length === 1 && v[0].target === "server/y.ts");
 * ```
 *
 * @param layers The arrows.
 * @param file Path relative to the root (`engine/segment.ts`).
 * @param source The file's text.
 * @returns The imports against the arrows (none for test code and files outside the layers).
 */
export function checkFile(layers: Layers, file: string, source: string): Violation[] {
  const layer = file.split("/")[0];
  if (!layers.has(layer) || isTestCode(file)) return [];
  const allowed = reachable(layers, layer);
  const out: Violation[] = [];
  for (const spec of importsOf(source)) {
    if (!spec.startsWith(".")) continue; // npm:, node:, jsr: and URLs are not ours
    const target = normalize(`${file.slice(0, file.lastIndexOf("/") + 1)}${spec}`);
    const targetLayer = target.includes("/") ? target.split("/")[0] : "";
    if (isTestCode(target)) {
      out.push({ file, target, reason: "source imports test support" });
    } else if (!allowed.has(targetLayer)) {
      out.push({
        file,
        target,
        reason: layers.has(targetLayer)
          ? `${layer}/ may not import ${targetLayer}/ (ARCHITECTURE.md: ${layer}/ → ${
            [...allowed].filter((l) => l !== layer).map((l) => `${l}/`).join(", ") || "nothing"
          })`
          : `${layer}/ may not import ${targetLayer ? `${targetLayer}/` : target} (not a layer)`,
      });
    }
  }
  return out;
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const p of path.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== "." && p !== "") parts.push(p);
  }
  return parts.join("/");
}

async function* sourceFiles(root: string, dir = ""): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir ? `${root}/${dir}` : root)) {
    const path = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory && !e.name.startsWith(".") && e.name !== "node_modules") {
      yield* sourceFiles(root, path);
    } else if (e.isFile && e.name.endsWith(".ts")) yield path;
  }
}

/**
 * Checks every layer's source files under `root` against the arrows of `root/ARCHITECTURE.md`.
 *
 * @param root The repository root.
 * @returns The violations (empty when the imports follow the arrows).
 * @throws {Error} If ARCHITECTURE.md's layer table cannot be read.
 */
export async function checkImports(root: string): Promise<Violation[]> {
  const layers = parseLayers(await Deno.readTextFile(`${root}/ARCHITECTURE.md`));
  const out: Violation[] = [];
  for (const layer of layers.keys()) {
    for await (const file of sourceFiles(root, layer)) {
      out.push(...checkFile(layers, file, await Deno.readTextFile(`${root}/${file}`)));
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const violations = await checkImports(root);
  for (const v of violations) console.error(`${v.file}: imports ${v.target}: ${v.reason}`);
  if (violations.length > 0) {
    console.error(`check_imports: ${violations.length} imports run against ARCHITECTURE.md`);
    Deno.exit(1);
  }
  console.log("check_imports: every import follows ARCHITECTURE.md's layers");
}
