// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { APIS } from "../apis/mod.ts";
import { ACCESS } from "./access.ts";

Deno.test("access: every served API says what it checks (an empty entry: nothing)", () => {
  const missing = APIS.map((a) => a.name).filter((n) => !(n in ACCESS));
  assertEquals(missing, []);
  const stale = Object.keys(ACCESS).filter((n) => !APIS.some((a) => a.name === n));
  assertEquals(stale, []);
});
