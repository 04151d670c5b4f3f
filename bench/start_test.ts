// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok, throws } from "node:assert/strict";
import { HELP, parseStartBenchArgs } from "./start.ts";

Deno.test("bench:start flags: defaults, --help, repeatable flags, bad usage", () => {
  assertEquals(parseStartBenchArgs([]), {
    runs: 11,
    idleMs: 1000,
    before: [],
    flags: [],
    help: false,
  });
  assertEquals(parseStartBenchArgs(["--help"]).help, true);
  assertEquals(parseStartBenchArgs(["-h"]).help, true);
  const o = parseStartBenchArgs([
    "--runs",
    "3",
    "--idle-ms",
    "0",
    "--before",
    "/a/cli/main.ts",
    "--before",
    "/b/cli/main.ts",
    "--flags=--v8-flags=--single-threaded-gc",
  ]);
  assertEquals([o.runs, o.idleMs, o.before, o.flags], [3, 0, ["/a/cli/main.ts", "/b/cli/main.ts"], [
    "--v8-flags=--single-threaded-gc",
  ]]);
  throws(() => parseStartBenchArgs(["--bogus"]), RangeError);
  throws(() => parseStartBenchArgs(["extra"]), RangeError);
  throws(() => parseStartBenchArgs(["--runs", "0"]), /--runs 0 is invalid/);
  throws(() => parseStartBenchArgs(["--idle-ms", "x"]), /--idle-ms x is invalid/);
  ok(HELP.startsWith("Usage: deno run -A bench/start.ts"));
  for (const flag of ["--runs", "--idle-ms", "--before", "--flags", "--help"]) {
    ok(HELP.includes(flag), `HELP names ${flag}`);
  }
});
