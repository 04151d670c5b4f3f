// Copyright 2026 the Sluice authors. Apache-2.0 license.
// What `/metrics` (issue #15) adds to every request: BrokerMetrics.recordRequest (a histogram
// bucket and a version count) and a topic's counters (one Map lookup), against the request path
// without them (the baseline: two performance.now() calls, which the broker makes anyway for the
// latency).
// Run: deno bench --allow-all bench/metrics_bench.ts
import { BrokerMetrics } from "../server/metrics.ts";

const m = new BrokerMetrics();
const topics = Array.from({ length: 100 }, (_, i) => `topic-${i}`);
for (const t of topics) m.topic(t);
let i = 0;
let sink = 0;

Deno.bench(
  "request path without counters (timing only)",
  { group: "request", baseline: true },
  () => {
    const started = performance.now();
    sink += performance.now() - started;
  },
);

Deno.bench("request path with recordRequest and a topic's counters", { group: "request" }, () => {
  const started = performance.now();
  const c = m.topics.get(topics[i++ % topics.length])!;
  c.produceRequests++;
  c.messagesIn += 100;
  c.bytesIn += 10_000;
  m.recordRequest(0, "Produce", 9, performance.now() - started);
});

globalThis.addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
});
