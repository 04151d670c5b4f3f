// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Requests librdkafka really sends with bytes after their last field, replayed byte for byte
// (testdata/trailing_bytes_requests.json, captured by capture_requests.ts): librdkafka 2.15.1's
// Metadata v12 for all topics (3 bytes: every client on librdkafka >= 2.10 sends it first, and a
// broker that refuses it serves none of them), librdkafka 2.0.2's ListGroups v4 (1 byte) and
// OffsetFetch v7 for all of a group's partitions (3 bytes). Kafka reads the declared fields and
// ignores the rest; so must Sluice: a correct answer (the same as for the request without the
// extra bytes) and the connection kept open. No client needed.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { apiByKey } from "../../protocol/apis.ts";
import { decodeBody, decodeResponseHeader, encodeRequestFrame } from "../../protocol/framing.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../../protocol/messages/api_versions.ts";
import type { ListGroupsResponse } from "../../protocol/messages/list_groups.ts";
import type { MetadataResponse } from "../../protocol/messages/metadata.ts";
import {
  OffsetCommitRequest,
  OffsetCommitResponse,
} from "../../protocol/messages/offset_commit.ts";
import type {
  OffsetFetchRequest,
  OffsetFetchResponse,
} from "../../protocol/messages/offset_fetch.ts";
import { createTopic, RawClient, startTestBroker } from "../../server/testing.ts";
import { type CapturedRequests, FIXTURE, fromHex } from "./capture_requests.ts";
import { inspectRequest } from "./recording_proxy.ts";

const fixtures: CapturedRequests = JSON.parse(await Deno.readTextFile(FIXTURE));
const TOPIC = "replayed";
const COMMITTED: Record<number, number> = { 0: 3, 1: 5 };

/** The frame with its trailing bytes cut off (size prefix adjusted). */
function withoutTrailing(frame: Uint8Array, trailing: number): Uint8Array {
  const out = frame.slice(0, frame.length - trailing);
  new DataView(out.buffer).setInt32(0, out.length - 4);
  return out;
}

/** Groups the fixtures name, each given committed offsets on {@linkcode TOPIC}. */
function groupsOf(requests: CapturedRequests["requests"]): string[] {
  const out = new Set<string>(["replayed-group"]);
  for (const r of requests) {
    if (r.api !== "OffsetFetch") continue;
    out.add((inspectRequest(fromHex(r.frame)).body as OffsetFetchRequest).groupId);
  }
  return [...out];
}

async function seededBroker() {
  const t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, TOPIC, 2);
    for (const groupId of groupsOf(fixtures.requests)) {
      const res = await c.request(OffsetCommitRequest, OffsetCommitResponse, 8, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: "",
        topics: [{
          name: TOPIC,
          partitions: Object.entries(COMMITTED).map(([p, offset]) => ({
            partitionIndex: Number(p),
            committedOffset: offset,
            committedLeaderEpoch: -1,
            commitTimestamp: -1,
            committedMetadata: "",
          })),
        }],
      });
      assertEquals(res.topics[0].partitions.map((p) => p.errorCode), [0, 0]);
    }
  } finally {
    c.close();
  }
  return t;
}

/** Reads one response and decodes it as the answer to `frame`. */
async function answer(c: RawClient, frame: Uint8Array): Promise<[number, unknown]> {
  const shape = inspectRequest(frame);
  const api = apiByKey(shape.apiKey)!;
  const res = await c.readFrame();
  if (res === null) {
    throw new Error(`${shape.name} v${shape.apiVersion}: the broker closed the connection`);
  }
  const { header, bodyOffset } = decodeResponseHeader(res, shape.apiKey, shape.apiVersion);
  return [header.correlationId, decodeBody(api.response, res, bodyOffset, shape.apiVersion)];
}

/** The connection still serves requests: ApiVersions v3 answers with error 0. */
async function assertOpen(c: RawClient): Promise<void> {
  const av = await c.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
    clientSoftwareName: "sluice-test",
    clientSoftwareVersion: "1",
  });
  assertEquals(av.errorCode, 0);
}

/** What each API's answer must hold given the seeded broker. */
function checkAnswer(api: string, body: unknown, port: number, groups: string[]): void {
  switch (api) {
    case "Metadata": {
      const md = body as MetadataResponse;
      assertEquals(md.brokers.map((b) => [b.nodeId, b.host, b.port]), [[1, "127.0.0.1", port]]);
      const topic = md.topics.find((t) => t.name === TOPIC);
      assert(topic, `Metadata lists ${TOPIC}`);
      assertEquals([topic.errorCode, topic.partitions.map((p) => p.partitionIndex).sort()], [
        0,
        [0, 1],
      ]);
      return;
    }
    case "ListGroups": {
      const lg = body as ListGroupsResponse;
      assertEquals(lg.errorCode, 0);
      assertEquals(lg.groups.map((g) => g.groupId).sort(), [...groups].sort());
      return;
    }
    case "OffsetFetch": {
      const of = body as OffsetFetchResponse;
      assertEquals(of.errorCode, 0);
      assertEquals(
        of.topics.map((
          t,
        ) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.committedOffset])]),
        [[TOPIC, Object.entries(COMMITTED).map(([p, o]) => [Number(p), o])]],
      );
      return;
    }
    default:
      throw new Error(`no check for ${api}: add one to trailing_bytes_test.ts`);
  }
}

Deno.test("the fixtures hold librdkafka's frames with bytes after the last field", () => {
  const kinds = fixtures.requests.map((r) =>
    `${r.client} ${r.api} v${r.apiVersion} +${r.trailingBytes}`
  );
  assertEquals(kinds, [
    "librdkafka 2.0.2 ListGroups v4 +1",
    "librdkafka 2.0.2 OffsetFetch v7 +3",
    "librdkafka 2.15.1 Metadata v12 +3",
  ]);
  for (const r of fixtures.requests) {
    const frame = fromHex(r.frame);
    const shape = inspectRequest(frame);
    assertEquals(
      [shape.apiKey, shape.name, shape.apiVersion, shape.trailingBytes, shape.clientId],
      [r.apiKey, r.api, r.apiVersion, r.trailingBytes, "rdkafka"],
    );
    // Our codec reads exactly the fields librdkafka wrote: re-encoding them gives the frame
    // without its extra bytes, so those really come after the last declared field.
    const api = apiByKey(r.apiKey)!;
    const again = encodeRequestFrame(
      api.request,
      r.apiVersion,
      shape.correlationId,
      shape.clientId,
      shape.body,
    );
    assertEquals(again, withoutTrailing(frame, r.trailingBytes), `${r.client} ${r.api}`);
  }
});

for (const r of fixtures.requests) {
  Deno.test(
    `${r.client} ${r.api} v${r.apiVersion} with ${r.trailingBytes} bytes after its last field: ` +
      `answered as without them, connection kept`,
    async () => {
      await using t = await seededBroker();
      const c = await RawClient.connect(t.broker.port);
      try {
        const frame = fromHex(r.frame);
        const shape = inspectRequest(frame);
        await c.sendRaw(frame);
        const [id, body] = await answer(c, frame);
        assertEquals(id, shape.correlationId);
        checkAnswer(r.api, body, t.broker.port, groupsOf(fixtures.requests));
        const trimmed = withoutTrailing(frame, r.trailingBytes);
        await c.sendRaw(trimmed);
        assertEquals(await answer(c, trimmed), [id, body]);
        await assertOpen(c);
        const logged = t.lines.filter((l) => l.includes("trailing bytes"));
        assertEquals(logged.length, 1, logged.join("\n"));
        assert(
          logged[0].startsWith(`DEBUG ${r.api} v${r.apiVersion} from rdkafka `) &&
            logged[0].includes(`has ${r.trailingBytes} trailing bytes after its last field`),
          logged[0],
        );
      } finally {
        c.close();
      }
    },
  );
}

Deno.test("all the captured frames written at once are answered in order", async () => {
  await using t = await seededBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const frames = fixtures.requests.map((r) => fromHex(r.frame));
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let off = 0;
    for (const f of frames) {
      all.set(f, off);
      off += f.length;
    }
    await c.sendRaw(all);
    for (const [i, f] of frames.entries()) {
      const [id, body] = await answer(c, f);
      assertEquals(id, inspectRequest(f).correlationId);
      checkAnswer(fixtures.requests[i].api, body, t.broker.port, groupsOf(fixtures.requests));
    }
    await assertOpen(c);
  } finally {
    c.close();
  }
});
