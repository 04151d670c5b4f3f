// Copyright 2026 the Sluice authors. Apache-2.0 license.
// What an inter-broker SCRAM login adds to a follower's connect (issue #14): a broker with a
// PLAINTEXT and a SASL_PLAINTEXT listener; `BrokerConnection.connect` (what a replica fetcher does
// before its first Fetch) to each, alternately, N times per mechanism, then one Metadata request on
// the connection so both are measured up to a usable connection. Prints medians and p90s; the
// difference of the medians is the login's cost (TCP connect on loopback is the same on both).
// Run: deno task bench:interbroker-sasl [N]   (default 200)
import { scramUpsertion } from "../client/sasl.ts";
import { MetadataRequest, MetadataResponse } from "../protocol/messages/metadata.ts";
import { Broker } from "../server/broker.ts";
import { BrokerConnection, type BrokerEndpoint } from "../server/broker_connection.ts";
import { silentLogger } from "../server/logger.ts";
import { ScramCredentialStore } from "../server/security/scram_credentials.ts";

const n = Number(Deno.args[0] ?? 200);
const dir = await Deno.makeTempDir({ prefix: "sluice-bench-ib-sasl-" });
const store = await ScramCredentialStore.open(dir);
for (const m of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
  await store.apply([{ ...(await scramUpsertion("broker", m, "broker-secret")), op: "upsert" }]);
}
const broker = await Broker.start({
  listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
  logDirs: [dir],
  logger: silentLogger,
});

async function once(ep: BrokerEndpoint): Promise<number> {
  const t0 = performance.now();
  const conn = await BrokerConnection.connect(ep, "bench", 10_000);
  await conn.request(
    MetadataRequest,
    MetadataResponse,
    12,
    MetadataRequest.create({ topics: [] }),
    10_000,
  );
  const ms = performance.now() - t0;
  conn.close();
  return ms;
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(3);
  return `median ${q(0.5)} ms, p90 ${q(0.9)} ms`;
}

try {
  const plain: BrokerEndpoint = { host: "127.0.0.1", port: broker.listener("PLAINTEXT").port };
  const sasl = broker.listener("SASL_PLAINTEXT").port;
  const runs: [string, BrokerEndpoint][] = [
    ["PLAINTEXT", plain],
    ["SCRAM-SHA-256", {
      host: "127.0.0.1",
      port: sasl,
      sasl: { mechanism: "SCRAM-SHA-256", username: "broker", password: "broker-secret" },
    }],
    ["SCRAM-SHA-512", {
      host: "127.0.0.1",
      port: sasl,
      sasl: { mechanism: "SCRAM-SHA-512", username: "broker", password: "broker-secret" },
    }],
  ];
  for (const [, ep] of runs) for (let i = 0; i < 10; i++) await once(ep); // warm-up
  const times = new Map(runs.map(([name]) => [name, [] as number[]]));
  for (let i = 0; i < n; i++) {
    for (const [name, ep] of runs) times.get(name)!.push(await once(ep));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(times.get("PLAINTEXT")!);
  console.log(`connect + first request, ${n} each, interleaved (4096-iteration credentials):`);
  for (const [name, xs] of times) {
    const added = name === "PLAINTEXT" ? "" : `; adds ${(median(xs) - base).toFixed(3)} ms`;
    console.log(`  ${name.padEnd(14)} ${stats(xs)}${added}`);
  }
} finally {
  await broker.close();
  await Deno.remove(dir, { recursive: true });
}
