// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Consumer groups over real TCP with kafkajs (npm, in-process) against a real broker: two
// members split a 4-partition topic with no overlap, a leaving member's partitions go to the
// other, a second group sees every record, a new member resumes after the committed offset, and
// offsets and the group listing survive a broker restart. Ignored until the group APIs are in
// the registry (server/apis/mod.ts).

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import type { Consumer } from "kafkajs";
import { APIS } from "../apis/mod.ts";
import { Broker } from "../broker.ts";
import type { BrokerConfig } from "../config.ts";
import { waitFor } from "../../tests/harness.ts";

const wired = APIS.some((a) => a.key === 11);

async function startBroker(dir: string): Promise<Broker> {
  return await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    logLevel: "silent",
    groupInitialRebalanceDelayMs: 0,
    offsetsTopicNumPartitions: 5,
  } as Partial<BrokerConfig>);
}

function kafkaAt(port: number): Kafka {
  return new Kafka({
    clientId: "sluice-group-test",
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100 },
  });
}

/** The named logs, for a wait's error. */
function dump(logs: Record<string, string[]>): () => string {
  return () =>
    Object.entries(logs).map(([name, log]) => `\n--- ${name}:\n${log.join("\n")}`).join("");
}

interface Member {
  consumer: Consumer;
  got: { partition: number; offset: number; value: string }[];
  assigned: number[];
  joins: number;
}

async function member(kafka: Kafka, groupId: string, topic: string): Promise<Member> {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 200,
    maxWaitTimeInMs: 100,
  });
  const m: Member = { consumer, got: [], assigned: [], joins: 0 };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    m.joins++;
    m.assigned = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: ({ partition, message }) => {
      m.got.push({ partition, offset: Number(message.offset), value: message.value!.toString() });
      return Promise.resolve();
    },
  });
  return m;
}

async function produce(kafka: Kafka, topic: string, from: number, count: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, i) => ({
      partition: (from + i) % 4,
      value: `v${from + i}`,
    })),
  });
  await producer.disconnect();
}

const values = (ms: Member[]) => new Set(ms.flatMap((m) => m.got.map((g) => g.value)));
const expected = (n: number) => new Set(Array.from({ length: n }, (_, i) => `v${i}`));

Deno.test({
  name: "kafkajs groups: split, leave, second group, resume after commit, restart",
  ignore: !wired,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice_group_tcp_" });
    let broker = await startBroker(dir);
    const consumers: Consumer[] = [];
    try {
      let kafka = kafkaAt(broker.port);
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "t4", numPartitions: 4 }] });
      await produce(kafka, "t4", 0, 40);

      // Two members split the four partitions with no overlap.
      const a = await member(kafka, "g1", "t4");
      consumers.push(a.consumer);
      await waitFor("a to own all partitions", () => a.assigned.length === 4);
      const b = await member(kafka, "g1", "t4");
      consumers.push(b.consumer);
      await waitFor(
        "a and b to split t4",
        () => a.assigned.length === 2 && b.assigned.length === 2,
      );
      assertEquals([...a.assigned, ...b.assigned].sort(), [0, 1, 2, 3]);
      await waitFor("all 40 records in g1", () => values([a, b]).size === 40);
      assertEquals(values([a, b]), expected(40));

      // b leaves: a takes every partition and gets the new records.
      await b.consumer.disconnect();
      await waitFor("a to own all partitions again", () => a.assigned.length === 4);
      await produce(kafka, "t4", 40, 8);
      await waitFor("a to get the 8 new records", () => values([a, b]).size === 48);
      assertEquals(values([a, b]), expected(48));

      // A second group receives every record too.
      const c = await member(kafka, "g2", "t4");
      consumers.push(c.consumer);
      await waitFor("g2 to get all 48 records", () => values([c]).size === 48);
      assertEquals(c.got.length, 48);
      await c.consumer.disconnect(); // commits on the way out

      // A new g2 member resumes after the committed offsets: only new records.
      await produce(kafka, "t4", 48, 4);
      const d = await member(kafka, "g2", "t4");
      consumers.push(d.consumer);
      await waitFor("d to get the 4 new records", () => d.got.length >= 4);
      await new Promise((r) => setTimeout(r, 300));
      assertEquals(d.got.map((g) => g.value).sort(), ["v48", "v49", "v50", "v51"]);
      await d.consumer.disconnect();
      await a.consumer.disconnect();

      const before = await admin.fetchOffsets({ groupId: "g2", topics: ["t4"] });
      assertEquals(
        before[0].partitions.map((p) => [p.partition, p.offset]).sort(),
        [[0, "13"], [1, "13"], [2, "13"], [3, "13"]],
      );
      await admin.disconnect();

      // Restart on the same data directory: offsets and the group listing come back.
      await broker.close();
      broker = await startBroker(dir);
      kafka = kafkaAt(broker.port);
      const admin2 = kafka.admin();
      await admin2.connect();
      const after = await admin2.fetchOffsets({ groupId: "g2", topics: ["t4"] });
      assertEquals(after, before);
      const listed = await admin2.listGroups();
      assertEquals(
        listed.groups.map((g) => [g.groupId, g.protocolType]).sort(),
        [["g1", "consumer"], ["g2", "consumer"]],
      );
      const described = await admin2.describeGroups(["g1"]);
      assertEquals([described.groups[0].state, described.groups[0].members], ["Empty", []]);
      await admin2.disconnect();
    } finally {
      for (const c of consumers) await c.disconnect().catch(() => {});
      await broker.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function coverage(ms: Member[]): number[] {
  return ms.flatMap((m) => m.assigned).sort((a, b) => a - b);
}

Deno.test({
  name: "kafkajs groups: 10 members on 32 partitions, 5 leave; every partition owned exactly once",
  ignore: !wired,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice_group_storm_" });
    const broker = await startBroker(dir);
    const members: Member[] = [];
    try {
      const kafka = kafkaAt(broker.port);
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "t32", numPartitions: 32 }] });
      await admin.disconnect();
      const all32 = Array.from({ length: 32 }, (_, i) => i);
      const started = performance.now();
      members.push(
        ...await Promise.all(Array.from({ length: 10 }, () => member(kafka, "storm", "t32"))),
      );
      await waitFor(
        "10 members to own the 32 partitions exactly once",
        () =>
          members.every((m) => m.assigned.length === 3 || m.assigned.length === 4) &&
          coverage(members).join() === all32.join(),
      );
      const joinedMs = performance.now() - started;
      // Every member got partitions, so none was dropped by a rebalance timeout.
      assertEquals(coverage(members), all32);
      const leaving = members.splice(0, 5);
      await Promise.all(leaving.map((m) => m.consumer.disconnect()));
      await waitFor(
        "the 5 remaining members to own the 32 partitions exactly once",
        () =>
          members.every((m) => m.assigned.length === 6 || m.assigned.length === 7) &&
          coverage(members).join() === all32.join(),
      );
      assertEquals(coverage(members), all32);
      console.log(`10-member join on 32 partitions: ${joinedMs.toFixed(0)} ms`);
    } finally {
      await Promise.all(members.map((m) => m.consumer.disconnect().catch(() => {})));
      await broker.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const kcat = (() => {
  try {
    return new Deno.Command("kcat", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** A kcat (librdkafka) balanced consumer; its rebalance log lines go to `log`. */
function kcatMember(
  port: number,
  group: string,
  topic: string,
  log: string[],
  extra: string[] = [],
) {
  const child = new Deno.Command("kcat", {
    args: [
      ...extra,
      "-b",
      `127.0.0.1:${port}`,
      "-G",
      group,
      "-X",
      "session.timeout.ms=6000",
      "-X",
      "heartbeat.interval.ms=300",
      ...(Deno.env.get("SLUICE_KCAT_DEBUG") ? ["-d", "cgrp"] : []),
      topic,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // kcat writes one rebalance line in several write() calls ("... rebalanced (memberid x): ",
  // "assigned: ", "tk [0]", ", tk [1]", "\n"); a busy machine can read between them, so only
  // whole lines go to the log.
  (async () => {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of child.stderr) {
      const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
      partial = lines.pop()!;
      log.push(...lines);
    }
    if (partial !== "") log.push(partial);
  })();
  return child;
}

function lastAssignment(log: string[]): string | undefined {
  return log.filter((l) => l.includes("assigned:")).at(-1)?.replace(/^.*assigned: /, "");
}

Deno.test({
  name: "librdkafka (kcat) groups: a killed member is evicted after its session timeout",
  ignore: !wired || !kcat,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice_group_kill_" });
    const broker = await startBroker(dir);
    const children: Deno.ChildProcess[] = [];
    try {
      const admin = kafkaAt(broker.port).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "tk", numPartitions: 4 }] });
      await admin.disconnect();
      const logA: string[] = [];
      const logB: string[] = [];
      children.push(kcatMember(broker.port, "gk", "tk", logA));
      await waitFor("A to own tk", () => lastAssignment(logA)?.split(",").length === 4, {
        detail: dump({ A: logA }),
      });
      children.push(kcatMember(broker.port, "gk", "tk", logB));
      await waitFor(
        "A and B to split tk",
        () =>
          lastAssignment(logA)?.split(",").length === 2 &&
          lastAssignment(logB)?.split(",").length === 2,
        { detail: dump({ A: logA, B: logB }) },
      );
      children[1].kill("SIGKILL"); // no LeaveGroup: only the session timeout can evict it
      await children[1].status;
      await waitFor(
        "A to own tk again",
        () => lastAssignment(logA)?.split(",").length === 4,
        { detail: dump({ A: logA, B: logB }) },
      );
      assertEquals(lastAssignment(logA), "tk [0], tk [1], tk [2], tk [3]");
    } finally {
      for (const c of children) {
        try {
          c.kill("SIGKILL");
        } catch {
          // already exited
        }
        await c.status;
      }
      await broker.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Partitions of `topic` named in a kcat rebalance line, e.g. `"tc [0], tc [3]"` → [0, 3]. */
function partitionsIn(line: string): number[] {
  return [...line.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

Deno.test({
  name: "librdkafka (kcat) groups: cooperative-sticky hands over only the moved partitions",
  ignore: !wired || !kcat,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice_group_coop_" });
    const broker = await startBroker(dir);
    const children: Deno.ChildProcess[] = [];
    try {
      const admin = kafkaAt(broker.port).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "tc", numPartitions: 4 }] });
      await admin.disconnect();
      const coop = ["-X", "partition.assignment.strategy=cooperative-sticky"];
      const logA: string[] = [];
      const logB: string[] = [];
      const incremental = (log: string[], what: string) =>
        log.filter((l) => l.includes(`incremental ${what}`)).map((l) =>
          partitionsIn(l.replace(/^.*protocol\): ?/, ""))
        );
      /** Partitions a cooperative member owns after the incremental steps in its log. */
      const owned = (log: string[]) => {
        const own = new Set<number>();
        for (const l of log) {
          const step = /incremental (assignment|revoke)/.exec(l)?.[1];
          if (step === undefined) continue;
          for (const p of partitionsIn(l.replace(/^.*protocol\): ?/, ""))) {
            if (step === "assignment") own.add(p);
            else own.delete(p);
          }
        }
        return [...own].sort((a, b) => a - b);
      };
      children.push(kcatMember(broker.port, "gc", "tc", logA, coop));
      await waitFor("A to own tc", () => owned(logA).length === 4, { detail: dump({ A: logA }) });
      const revokesBefore = incremental(logA, "revoke").length;
      children.push(kcatMember(broker.port, "gc", "tc", logB, coop));
      await waitFor(
        "A and B to split tc",
        () => owned(logA).length === 2 && owned(logB).length === 2,
        { detail: dump({ A: logA, B: logB }) },
      );
      assertEquals([...owned(logA), ...owned(logB)].sort(), [0, 1, 2, 3]);
      // A gave up exactly the two partitions B got: nothing else moved.
      const revokedA = incremental(logA, "revoke").slice(revokesBefore).flat().sort();
      assertEquals(revokedA, owned(logB));
    } finally {
      for (const c of children) {
        try {
          c.kill("SIGKILL");
        } catch {
          // already exited
        }
        await c.status;
      }
      await broker.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "librdkafka (kcat) groups: a restarted static leader keeps its partitions, no rebalance",
  ignore: !wired || !kcat,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice_group_static_" });
    const broker = await startBroker(dir);
    const children: Deno.ChildProcess[] = [];
    try {
      const admin = kafkaAt(broker.port).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "ts", numPartitions: 4 }] });
      await admin.disconnect();
      const staticId = (id: string) => ["-X", `group.instance.id=${id}`];
      const logA: string[] = [];
      const logB: string[] = [];
      const logA2: string[] = [];
      children.push(kcatMember(broker.port, "gs", "ts", logA, staticId("a")));
      await waitFor(
        "A (leader) to own ts",
        () => lastAssignment(logA)?.split(",").length === 4,
        { detail: dump({ A: logA }) },
      );
      children.push(kcatMember(broker.port, "gs", "ts", logB, staticId("b")));
      await waitFor(
        "A and B to split ts",
        () =>
          lastAssignment(logA)?.split(",").length === 2 &&
          lastAssignment(logB)?.split(",").length === 2,
        { detail: dump({ A: logA, B: logB }) },
      );
      const assignedA = lastAssignment(logA);
      children[0].kill("SIGKILL");
      await children[0].status;
      children.push(kcatMember(broker.port, "gs", "ts", logA2, staticId("a")));
      await waitFor(
        "the restarted A to be assigned",
        () => lastAssignment(logA2) !== undefined,
        { detail: dump({ A: logA, B: logB, A2: logA2 }) },
      );
      assertEquals(lastAssignment(logA2), assignedA);
      await new Promise((r) => setTimeout(r, 1000));
      // B saw one assignment and no revocation: the restart did not rebalance the group.
      assertEquals(logB.filter((l) => l.includes("rebalanced")).length, 1);
    } finally {
      for (const c of children) {
        try {
          c.kill("SIGKILL");
        } catch {
          // already exited
        }
        await c.status;
      }
      await broker.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
