// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The shards' shared quota rates measure exactly what one SampledRate does, whichever of the
// views over the buffer records, and a worker's records count in the main thread's rate.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { SampledRate } from "./quotas.ts";
import { SharedRates, sharedRatesBytes } from "./shared_rates.ts";

Deno.test("shared rates: two views of one buffer measure what one SampledRate measures", () => {
  for (const samples of [2, 3, 11]) {
    const cfg = { samples, windowMs: 1000 };
    const buffer = new SharedArrayBuffer(sharedRatesBytes(samples));
    const views = [new SharedRates(buffer, cfg), new SharedRates(buffer, cfg)];
    const local = new SampledRate(cfg);
    // a deterministic walk: values and gaps from a linear congruential sequence
    let x = 12345;
    let now = 1_000_000;
    for (let k = 0; k < 2000; k++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      now += x % 700;
      const value = (x >>> 8) % 5000;
      const m = views[k % 2].record("producer_byte_rate\u0000ANONYMOUS\u0000app", value, now)!;
      local.record(value, now);
      assertEquals(m.rate, local.measure(now), `step ${k}, ${samples} samples`);
      assertEquals(m.windowMs, local.windowSize(now));
    }
    // another key has a rate of its own
    assertEquals(views[1].record("other", 10, now)!.rate, 10 / ((samples - 1) * 1000 / 1000));
  }
});

Deno.test("shared rates: throttle counters are shared; a too small buffer is refused", () => {
  const buffer = new SharedArrayBuffer(sharedRatesBytes(2));
  const a = new SharedRates(buffer, { samples: 2, windowMs: 1000 });
  const b = new SharedRates(buffer, { samples: 2, windowMs: 1000 });
  a.countThrottle(0, 120);
  b.countThrottle(0, 30);
  b.countThrottle(2, 5);
  assertEquals(a.throttled(0), { ms: 150, count: 2 });
  assertEquals(a.throttled(1), { ms: 0, count: 0 });
  assertEquals(a.throttled(2), { ms: 5, count: 1 });
  let message = "";
  try {
    new SharedRates(buffer, { samples: 11, windowMs: 1000 });
  } catch (e) {
    message = (e as Error).message;
  }
  ok(message.includes("too small for 11 samples"), message);
});

Deno.test("shared rates: a worker's records count in the main thread's rate", async () => {
  const buffer = new SharedArrayBuffer(sharedRatesBytes(2));
  const rates = new SharedRates(buffer, { samples: 2, windowMs: 1000 });
  const src = `
    import { SharedRates } from ${
    JSON.stringify(new URL("./shared_rates.ts", import.meta.url).href)
  };
    self.onmessage = (e) => {
      const r = new SharedRates(e.data.buffer, { samples: 2, windowMs: 1000 });
      for (let i = 0; i < 1000; i++) r.record("k", 3, e.data.now);
      self.postMessage("done");
    };`;
  const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
  const w = new Worker(url, { type: "module" });
  try {
    const now = 5_000_000;
    const done = new Promise((r) => (w.onmessage = r));
    w.postMessage({ buffer, now });
    // recorded at the same time from both threads: nothing is lost under the lock
    for (let i = 0; i < 1000; i++) rates.record("k", 2, now);
    await done;
    assertEquals(rates.record("k", 0, now)!.rate, 5000 / 1); // 5000 bytes over 1 s
  } finally {
    w.terminate();
    URL.revokeObjectURL(url);
  }
});
