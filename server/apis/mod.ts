// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Every API handler the broker serves, loaded: the handler table (`table.ts`, which the broker
 * uses, loading each handler at its API's first request) with all its handlers imported, for
 * tests and tools that want the handlers themselves. ApiVersions advertises exactly these ranges.
 *
 * @module
 */

import { type ApiHandler, registry } from "../api.ts";
import { API_TABLE } from "./table.ts";

export { API_TABLE, type ApiEntry } from "./table.ts";

/** Every served API's handler, sorted by key (the registry refuses two handlers for one key). */
export const APIS: readonly ApiHandler[] = registry(
  await Promise.all(API_TABLE.map((e) => e.load())),
);
