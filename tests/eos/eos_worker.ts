// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The consume–transform–produce loop of the exactly-once tests, run as a subprocess so that it
 * can be SIGKILLed mid-transaction: a read_committed group member (no auto-commit) and a
 * transactional producer; each poll's records become one transaction holding their transformed
 * copies (`out-<value>`, same key, same partition) and the consumed offsets, at most 50 records
 * a transaction.
 *
 * Usage: `deno run -A tests/eos/eos_worker.ts BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID`.
 * Lines on stdout: `ready` (in the group, owning partitions), `sent N` (N records of the open
 * transaction acknowledged, its commit not sent yet), `sent offsets` (its offsets sent, its
 * commit not yet: three `sent` lines a transaction), `committed N` (records committed so far
 * by this process), `fatal <why>`.
 * `EOS_PAUSE_MS` pauses after each `sent` line (for the workers to be killed).
 * `EOS_BREAK=outside` commits the offsets with the consumer before the transaction commits
 * (outside it), the mistake the exactly-once test must catch.
 *
 * @module
 */

import { Client, type ConsumerRecord, GroupConsumer, Producer } from "../../client/mod.ts";

const [bootstrap, input, output, group, transactionalId] = Deno.args;
const breakMode = Deno.env.get("EOS_BREAK") ?? "";
const TXN_RECORDS = 50;
/** Pause after each `sent` line, so that a kill sent on seeing it lands before the commit. */
const PAUSE_MS = Number(Deno.env.get("EOS_PAUSE_MS") ?? 0);
const client = new Client({ bootstrapServers: bootstrap, retryBackoffMs: 20 });
const consumer = new GroupConsumer(client, {
  groupId: group,
  autoCommit: false,
  autoOffsetReset: "earliest",
  isolationLevel: "read_committed",
  sessionTimeoutMs: 2_500,
  heartbeatIntervalMs: 200,
  maxWaitMs: 100,
});
const producer = new Producer(client, { transactionalId, lingerMs: 1 });
const say = (line: string) => console.log(line);
let committed = 0;
let ready = false;
try {
  await producer.initTransactions();
  consumer.subscribe([input], {
    onPartitionsAssigned(ps) {
      if (ps.length > 0 && !ready) {
        ready = true;
        say("ready");
      }
    },
  });
  for (;;) {
    const polled = await consumer.poll({ maxWaitMs: 100 });
    // Small transactions (a poll may return thousands of records), so that kills land in many.
    for (let i = 0; i < polled.length; i += TXN_RECORDS) {
      await transaction(polled.slice(i, i + TXN_RECORDS));
    }
  }
} catch (e) {
  say(`fatal ${e instanceof Error ? e.message : e}`.replaceAll("\n", " "));
  Deno.exit(1);
}

async function transaction(records: ConsumerRecord[]): Promise<void> {
  producer.beginTransaction();
  const next = new Map<string, { topic: string; partition: number; offset: number }>();
  // Two sends per transaction, with a pause between: the kills land inside transactions.
  const half = Math.ceil(records.length / 2);
  for (const part of [records.slice(0, half), records.slice(half)]) {
    if (part.length === 0) continue;
    await Promise.all(part.map((r) =>
      producer.send({
        topic: output,
        messages: [{
          key: r.key,
          value: `out-${new TextDecoder().decode(r.value!)}`,
          partition: r.partition,
        }],
      })
    ));
    say(`sent ${part.length}`);
    if (PAUSE_MS > 0) await new Promise((r) => setTimeout(r, PAUSE_MS));
  }
  for (const r of records) {
    next.set(`${r.topic}\u0000${r.partition}`, {
      topic: r.topic,
      partition: r.partition,
      offset: r.offset + 1,
    });
  }
  if (breakMode === "outside") {
    await consumer.commit([...next.values()]);
  } else {
    await producer.sendOffsetsToTransaction([...next.values()], consumer.groupMetadata());
  }
  say("sent offsets");
  if (PAUSE_MS > 0) await new Promise((r) => setTimeout(r, PAUSE_MS));
  await producer.commitTransaction();
  committed += records.length;
  say(`committed ${committed}`);
}
