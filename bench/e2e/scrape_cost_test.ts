// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";

const TOOL = new URL("./scrape_cost.ts", import.meta.url).pathname;

Deno.test({
  name: "bench:scrape: a tiny run with our client measures both modes and a scrape",
  sanitizeResources: false,
  async fn() {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", TOOL, "--client", "sluice", "--scale", "0.002", "--rounds", "1"]
        .concat(["--burst", "5"]),
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    try {
      const out = await child.output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.match(text, /\| 1 \| none \| 2000 \|/);
      assert.match(text, /\| 1 \| every 1000 ms \| 2000 \|/);
      assert.match(text, /one scrape on the idle broker: [\d.]+ ms CPU, [\d.]+ ms wall, \d+ bytes/);
    } finally {
      clearTimeout(timer);
    }
  },
});

Deno.test("bench:scrape: bad flags exit 2", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TOOL, "--rounds", "0"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /^scrape_cost: bad arguments/);
});
