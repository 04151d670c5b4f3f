// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The SASL part of the protocol fuzzer (tests/fuzz/sasl.ts), bounded for CI: 1,500 fuzzed SASL
// exchanges against a SASL_PLAINTEXT broker must all end in an answer or a close, leave the
// control logins working, log no unexpected ERROR and leave no connection open; and they must
// reach every outcome (authenticated, refused and closed, answered).
// FUZZ_SEED=<n> runs another seed; `deno task fuzz:sasl` is the long run.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runSaslFuzz } from "./sasl.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261205);

Deno.test("fuzz: 1,500 SASL exchanges; the broker holds", async () => {
  const r = await runSaslFuzz({ seed: SEED, exchanges: 1_500, maxMs: 150_000 });
  assertEquals(r.failures, [], JSON.stringify(r, null, 2));
  assert(r.exchanges >= 500, `only ${r.exchanges} exchanges ran`);
  assert(r.authenticated >= r.exchanges / 10, `authenticated ${r.authenticated}`);
  assert(r.closed >= r.exchanges / 10, `closed ${r.closed}`);
  console.log(JSON.stringify({ ...r, failures: r.failures.length }));
});
