// Copyright 2026 the Sluice authors. Apache-2.0 license.
// A broker shutting down while one request creates thousands of topics or partitions stops it:
// the creation in progress is undone and the rest is not tried, one by one, after the shutdown.
// Found by the protocol fuzzer (tests/fuzz/, --extreme): a Metadata naming 20,000 new topics
// kept a SIGTERMed broker auto-creating them for over a minute (then SIGKILL), and a CreateTopics
// of 100,000 topics logged 96,000 failed creations while it stopped.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { CreatePartitionsRequest } from "../../protocol/messages/create_partitions.ts";
import {
  CreateTopicsRequest,
  CreateTopicsResponse,
} from "../../protocol/messages/create_topics.ts";
import { MetadataRequest } from "../../protocol/messages/metadata.ts";
import { NO_TOPIC_ID, RawClient, startTestBroker, type TestBroker } from "../testing.ts";

/** Resolves when `n` log lines match `re` (a safety bound of 60 s). */
async function linesMatching(t: TestBroker, re: RegExp, n: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (t.lines.filter((l) => re.test(l)).length < n) {
    if (Date.now() > deadline) throw new Error(`no ${n} log lines matching ${re} within 60 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Closes the broker (a safety bound of 120 s) and returns the log lines matching `re`. */
async function closeAndCount(t: TestBroker, re: RegExp): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    t.broker.close(),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("close did not finish within 120 s")), 120_000);
    }),
  ]).finally(() => clearTimeout(timer));
  return t.lines.filter((l) => re.test(l)).length;
}

const N = 2000;

Deno.test("shutdown during a Metadata auto-creating 2,000 topics: auto-creation stops", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await c.send(MetadataRequest, 9, {
      topics: Array.from({ length: N }, (_, i) => ({ name: `auto-${i}`, topicId: NO_TOPIC_ID })),
      allowAutoTopicCreation: true,
    });
    await linesMatching(t, /Auto-created topic auto-/, 10);
    const created = await closeAndCount(t, /Auto-created topic auto-/);
    ok(created < N / 2, `${created} of ${N} topics auto-created after the shutdown began`);
  } finally {
    c.close();
  }
});

Deno.test("shutdown during a CreateTopics of 2,000 topics: the topics left are not tried", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await c.send(CreateTopicsRequest, 7, {
      topics: Array.from({ length: N }, (_, i) => ({
        name: `made-${i}`,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 60_000,
    });
    await linesMatching(t, /Created topic made-/, 10);
    const created = await closeAndCount(t, /Created topic made-/);
    ok(created < N / 2, `${created} of ${N} topics created after the shutdown began`);
    // At most the one creation the shutdown interrupted was tried and undone.
    const undone = t.lines.filter((l) => /create topic made-\d+ failed/.test(l));
    ok(undone.length <= 1, `${undone.length} creations tried after the shutdown began`);
  } finally {
    c.close();
  }
});

Deno.test("shutdown during a CreatePartitions of 400 topics: the topics left are not grown", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const topics = Array.from({ length: 400 }, (_, i) => `grow-${i}`);
    const made = await c.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
      topics: topics.map((name) => ({
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
    });
    assertEquals(made.topics.filter((x) => x.errorCode !== ErrorCode.NONE), []);
    await c.send(CreatePartitionsRequest, 3, {
      topics: topics.map((name) => ({ name, count: 5, assignments: null })),
      timeoutMs: 60_000,
      validateOnly: false,
    });
    await linesMatching(t, /Topic grow-\d+ now has 5 partitions/, 5);
    const grown = await closeAndCount(t, /Topic grow-\d+ now has 5 partitions/);
    ok(grown < topics.length / 2, `${grown} of ${topics.length} topics grown`);
    const undone = t.lines.filter((l) => /create partitions of grow-\d+ failed/.test(l));
    ok(undone.length <= 1, `${undone.length} growths tried after the shutdown began`);
  } finally {
    c.close();
  }
});
