// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The fault harness's consumer on Sluice's own client: a `GroupConsumer` member of the harness's
 * group (eager rebalances, manual commits), printing every record it reads and every commit the
 * coordinator acknowledges in the line protocol of {@linkcode ./protocol.ts}.
 *
 * It commits the positions of the partitions assigned to it every `commitIntervalMs` (the
 * positions, taken just before the commit is sent, are what the `K` lines report). Errors of a
 * poll or a commit are printed (`E`) and the loop goes on: the harness judges progress. SIGTERM
 * closes it (leaves the group) and ends it.
 *
 * ```sh
 * deno run -A tests/cluster_faults/sluice_consumer.ts '<ConsumerSpec as JSON>'
 * ```
 *
 * @module
 */

import { Client, GroupConsumer } from "../../client/mod.ts";
import { readValue } from "../chaos/protocol.ts";
import { commitLine, type ConsumerSpec, readLine } from "./protocol.ts";

const encoder = new TextEncoder();
const out = Deno.stdout.writable.getWriter();
let pending = "";
let flushing: Promise<void> | undefined;

function emit(line: string): void {
  pending += line + "\n";
  flushing ??= (async () => {
    while (pending !== "") {
      const text = pending;
      pending = "";
      await out.write(encoder.encode(text));
    }
    flushing = undefined;
  })();
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replaceAll("\n", " ");
}

async function main(): Promise<void> {
  const spec = JSON.parse(Deno.args[0] ?? "") as ConsumerSpec;
  let stopping = false;
  const abort = new AbortController();
  Deno.addSignalListener("SIGTERM", () => {
    stopping = true;
    abort.abort();
  });
  emit("R");
  const client = new Client({
    bootstrapServers: spec.bootstrap,
    clientId: spec.name,
    requestTimeoutMs: 10_000,
    connectTimeoutMs: 2_000,
    retryBackoffMs: 100,
  });
  const consumer = new GroupConsumer(client, {
    groupId: spec.group,
    autoCommit: false,
    autoOffsetReset: "earliest",
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    rebalanceTimeoutMs: 20_000,
    maxWaitMs: 300,
  });
  consumer.subscribe(spec.topics);
  let lastCommit = Date.now();
  while (!stopping) {
    try {
      const records = await consumer.poll({ signal: abort.signal });
      for (const r of records) {
        const v = readValue(r.value, spec.recordBytes);
        emit(readLine({
          topic: r.topic,
          partition: r.partition,
          offset: r.offset,
          id: v.id,
          intact: v.intact,
          ts: Date.now(),
        }));
      }
    } catch (e) {
      if (stopping) break;
      emit(`E poll: ${oneLine(e)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!stopping && Date.now() - lastCommit >= spec.commitIntervalMs) {
      lastCommit = Date.now();
      const positions = consumer.assignment();
      if (positions.length === 0) continue;
      try {
        await consumer.commit(positions);
        const now = Date.now();
        for (const p of positions) {
          emit(commitLine({ topic: p.topic, partition: p.partition, offset: p.offset, ts: now }));
        }
      } catch (e) {
        emit(`E commit: ${oneLine(e)}`);
      }
    }
  }
  await consumer.close().catch((e) => emit(`E close: ${oneLine(e)}`));
  await client.close();
  while (flushing) await flushing;
}

if (import.meta.main) {
  main().then(
    () => Deno.exit(0),
    (e) => {
      Deno.stdout.writeSync(encoder.encode(pending + `F ${oneLine(e)}\n`));
      Deno.exit(3);
    },
  );
}
