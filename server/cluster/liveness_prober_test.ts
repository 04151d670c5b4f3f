// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The liveness prober on real sockets: a closed listener refuses (evidence after N refusals in a
// row), a listener never seen accepting is never reported, a stopped process (SIGSTOP) keeps
// accepting into its backlog (never evidence) until it is killed, and an inconclusive probe
// breaks a run.
import { deepStrictEqual as assertEquals, strictEqual } from "node:assert/strict";
import {
  LivenessProber,
  probeListener,
  type ProbeOutcome,
  type ProbeTarget,
} from "./liveness_prober.ts";
import { waitFor } from "../../tests/harness.ts";

const until = (what: string, cond: () => boolean, ms = 15_000) =>
  waitFor(what, cond, { timeoutMs: ms, intervalMs: 10 });

function freeClosedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

interface Recorder {
  refused: number[];
  cleared: number;
}

function prober(targets: () => ProbeTarget[], r: Recorder): LivenessProber {
  return new LivenessProber({
    intervalMs: 20,
    refusals: 3,
    targets,
    onRefused: (_, n) => r.refused.push(n),
    onCleared: () => r.cleared++,
  });
}

Deno.test("probeListener: accepted by a listener, refused once it is closed", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  strictEqual(await probeListener("127.0.0.1", l.addr.port, 1000), "accepted");
  l.close();
  strictEqual(await probeListener("127.0.0.1", l.addr.port, 1000), "refused");
});

Deno.test("liveness prober: a closed listener is reported from the 3rd refusal in a row on; listening again clears it", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  const target = { id: 2, epoch: 10, host: "127.0.0.1", port };
  const r: Recorder = { refused: [], cleared: 0 };
  const p = prober(() => [target], r);
  p.start();
  try {
    await until("armed", () => p.state(2)?.armed === true);
    strictEqual(p.state(2)!.refusals, 0);
    l.close();
    await until("evidence", () => r.refused.length >= 2);
    assertEquals(r.refused.slice(0, 2), [3, 4]); // the run, counted from its start
    const again = Deno.listen({ hostname: "127.0.0.1", port });
    await until("cleared", () => r.cleared === 1);
    strictEqual(p.state(2)!.refusals, 0);
    again.close();
  } finally {
    p.stop();
  }
});

Deno.test("liveness prober: a listener never seen accepting is never reported", async () => {
  const target = { id: 3, epoch: 7, host: "127.0.0.1", port: freeClosedPort() };
  const r: Recorder = { refused: [], cleared: 0 };
  const p = prober(() => [target], r);
  p.start();
  try {
    await until("20 probes", () => (p.state(3)?.probes ?? 0) >= 20);
    assertEquals(p.state(3), { epoch: 7, probes: p.state(3)!.probes, armed: false, refusals: 0 });
    assertEquals(r.refused, []);
  } finally {
    p.stop();
  }
});

Deno.test("liveness prober: a new broker epoch starts unarmed; a target that goes is forgotten", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let targets = [{ id: 4, epoch: 1, host: "127.0.0.1", port: l.addr.port }];
  const r: Recorder = { refused: [], cleared: 0 };
  const p = prober(() => targets, r);
  p.start();
  try {
    await until("armed", () => p.state(4)?.armed === true);
    l.close();
    // the same node registered again (a restart) before the refusals add up: a new epoch,
    // whose listener must be seen accepting before its refusals count
    targets = [{ ...targets[0], epoch: 2 }];
    await until("10 probes of epoch 2", () => (p.state(4)?.probes ?? 0) >= 10);
    assertEquals(p.state(4)!.epoch, 2);
    strictEqual(p.state(4)!.armed, false);
    assertEquals(r.refused, []);
    targets = [];
    await until("forgotten", () => p.state(4) === undefined);
  } finally {
    p.stop();
  }
});

Deno.test("liveness prober: an inconclusive probe (timeout, unreachable) breaks a run of refusals", async () => {
  // refused, refused, inconclusive, refused, refused: never 3 in a row
  const script: ProbeOutcome[] = ["accepted", "refused", "refused", "inconclusive"];
  let i = 0;
  const r: Recorder = { refused: [], cleared: 0 };
  const p = new LivenessProber({
    intervalMs: 10,
    refusals: 3,
    targets: () => [{ id: 5, epoch: 1, host: "h", port: 1 }],
    onRefused: (_, n) => r.refused.push(n),
    onCleared: () => r.cleared++,
    probe: () => Promise.resolve(script[i++ % script.length]),
  });
  p.start();
  try {
    await until("40 probes", () => (p.state(5)?.probes ?? 0) >= 40);
    assertEquals(r.refused, []);
    strictEqual(r.cleared, 0);
  } finally {
    p.stop();
  }
});

Deno.test({
  name:
    "liveness prober: a stopped process (SIGSTOP) accepts into its backlog, never refuses; killed, it refuses",
  sanitizeResources: false,
  async fn() {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
         console.log(l.addr.port);
         for await (const c of l) c.close();`,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const port = Number((await reader.read()).value!.trim());
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
    const target = { id: 6, epoch: 1, host: "127.0.0.1", port };
    const r: Recorder = { refused: [], cleared: 0 };
    const p = prober(() => [target], r);
    p.start();
    try {
      await until("armed", () => p.state(6)?.armed === true);
      child.kill("SIGSTOP");
      const before = p.state(6)!.probes;
      await until("30 probes of the stopped process", () => p.state(6)!.probes >= before + 30);
      strictEqual(p.state(6)!.refusals, 0);
      assertEquals(r.refused, []);
      child.kill("SIGKILL");
      await child.status;
      await until("evidence after the kill", () => r.refused.length > 0);
      strictEqual(r.refused[0], 3);
    } finally {
      p.stop();
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
    }
  },
});
