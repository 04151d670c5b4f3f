// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Node built-ins loaded at their first use, synchronously (`process.getBuiltinModule`): a static
 * `import ... from "node:..."` loads Deno's Node compatibility layer with the module, ~100 ms and
 * ~10 MB at every broker start, for features (TLS listeners, cluster mode, DescribeLogDirs) a
 * broker may never use. Import the module's types with `import type` beside it.
 *
 * @module
 */

/**
 * A Node built-in module, loaded now if it was not yet.
 *
 * @example
 * ```ts
 * import type * as Path from "node:path";
 * import { nodeBuiltin } from "./node_builtin.ts";
 * console.assert(nodeBuiltin<typeof Path>("node:path").join("a", "b") === "a/b");
 * ```
 *
 * @param id The module's `node:` specifier.
 * @returns The module.
 */
export function nodeBuiltin<T>(id: string): T {
  return (globalThis as unknown as { process: { getBuiltinModule(id: string): unknown } })
    .process.getBuiltinModule(id) as T;
}
