// Copyright 2026 the Sluice authors. Apache-2.0 license.
// What RequestScheduler.admit (issue #17, server/request_scheduler.ts) adds to each request: the
// common case, a request admitted at once (no promise), against a bare counter; and 256 requests
// from many connections, 16 at once and the rest released 32 per timer turn (one promise each,
// eight timer turns).
// Run: deno bench --allow-all bench/request_scheduler_bench.ts
import { RequestScheduler } from "../server/request_scheduler.ts";

let sink = 0;

Deno.bench("request without a scheduler (a counter)", { group: "admit", baseline: true }, () => {
  sink++;
});

const lone = new RequestScheduler();
Deno.bench("admit: one connection, admitted at once", { group: "admit" }, async (b) => {
  // a lone connection's pipelined requests: up to loneRequests per slice, then the timer turn
  b.start();
  for (let i = 0; i < 128; i++) {
    const turn = lone.admit(1);
    if (turn !== undefined) await turn;
  }
  b.end();
});

Deno.bench("admit: 256 requests of 256 connections (8 turns)", { group: "slice" }, async () => {
  const s = new RequestScheduler();
  const waits: Promise<void>[] = [];
  for (let c = 1; c <= 256; c++) {
    const turn = s.admit(c);
    if (turn !== undefined) waits.push(turn);
  }
  await Promise.all(waits);
  s.close();
  sink += waits.length;
});

globalThis.addEventListener("unload", () => {
  lone.close();
  if (sink < 0) console.log(sink);
});
