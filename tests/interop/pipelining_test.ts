// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Pipelining over one raw connection (no client library; frames built with our protocol codecs):
// Kafka answers the requests of a connection strictly in the order they arrived, even when the
// first one is a Fetch parked in long-poll. kafka-python depends on this (it fails on an
// out-of-order correlation id), and so does any client that pipelines.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  ApiVersionsRequest,
  ApiVersionsResponse,
  decodeBody,
  decodeResponseHeader,
  encodeRequestFrame,
  FetchRequest,
  FetchResponse,
  MetadataRequest,
  MetadataResponse,
} from "../../protocol/mod.ts";
import { sharedBroker, uniqueTopic, withTimeout } from "../harness.ts";

const broker = sharedBroker({ numPartitions: 1 });

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const read = await conn.read(out.subarray(got));
    if (read === null) throw new Error(`read: connection closed after ${got} of ${n} bytes`);
    got += read;
  }
  return out;
}

async function readFrame(conn: Deno.Conn): Promise<Uint8Array> {
  const size = await readExactly(conn, 4);
  return await readExactly(conn, new DataView(size.buffer).getInt32(0));
}

function metadataFrame(correlationId: number, topic: string): Uint8Array {
  return encodeRequestFrame(MetadataRequest, 4, correlationId, "pipe", {
    ...MetadataRequest.create(),
    topics: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: topic }],
    allowAutoTopicCreation: true,
  });
}

function fetchFrame(correlationId: number, topic: string, maxWaitMs: number): Uint8Array {
  const body = FetchRequest.create();
  return encodeRequestFrame(FetchRequest, 4, correlationId, "pipe", {
    ...body,
    replicaId: -1,
    maxWaitMs,
    minBytes: 1,
    maxBytes: 1 << 20,
    topics: [{
      topic,
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      partitions: [{
        partition: 0,
        currentLeaderEpoch: -1,
        fetchOffset: 0,
        lastFetchedEpoch: -1,
        logStartOffset: -1,
        partitionMaxBytes: 1 << 20,
        replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
      }],
    }],
  });
}

Deno.test({
  name: "pipelining: responses follow request order, even behind a parked Fetch",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { port } = await broker();
    const topic = uniqueTopic("pipe");
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      // create the topic (auto-creation through Metadata), wait for its answer
      await conn.write(metadataFrame(1, topic));
      const created = await withTimeout(readFrame(conn), 30_000, "Metadata");
      const mh = decodeResponseHeader(created, 3, 4);
      assertEquals(mh.header.correlationId, 1);
      const md = decodeBody(MetadataResponse, created, mh.bodyOffset, 4);
      assertEquals(md.topics.map((t) => [t.name, t.errorCode]), [[topic, 0]]);

      // a Fetch on the empty partition parks for 1.5 s; the two requests behind it must wait
      const frames = [
        fetchFrame(2, topic, 1500),
        encodeRequestFrame(ApiVersionsRequest, 0, 3, "pipe", ApiVersionsRequest.create()),
        metadataFrame(4, topic),
      ];
      const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
      let at = 0;
      for (const f of frames) {
        all.set(f, at);
        at += f.length;
      }
      await conn.write(all);
      const order: number[] = [];
      for (const [key, version] of [[1, 4], [18, 0], [3, 4]]) {
        const frame = await withTimeout(readFrame(conn), 30_000, `response ${order.length + 1}`);
        const { header, bodyOffset } = decodeResponseHeader(frame, key, version);
        order.push(header.correlationId);
        if (header.correlationId === 2) {
          const fetch = decodeBody(FetchResponse, frame, bodyOffset, 4);
          const p = fetch.responses[0].partitions[0];
          assertEquals([p.partitionIndex, p.errorCode, p.highWatermark], [0, 0, 0]);
        } else if (header.correlationId === 3) {
          const versions = decodeBody(ApiVersionsResponse, frame, bodyOffset, 0);
          assertEquals(versions.errorCode, 0);
        }
      }
      assertEquals(order, [2, 3, 4]);
    } finally {
      conn.close();
    }
  },
});

Deno.test({
  name: "pipelining: 50 ApiVersions requests in one write get 50 answers in order",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { port } = await broker();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const frames = Array.from(
        { length: 50 },
        (_, i) =>
          encodeRequestFrame(ApiVersionsRequest, 0, 1000 + i, "pipe", ApiVersionsRequest.create()),
      );
      const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
      let at = 0;
      for (const f of frames) {
        all.set(f, at);
        at += f.length;
      }
      await conn.write(all);
      const ids: number[] = [];
      for (let i = 0; i < 50; i++) {
        const frame = await withTimeout(readFrame(conn), 30_000, `answer ${i}`);
        const { header, bodyOffset } = decodeResponseHeader(frame, 18, 0);
        assert(decodeBody(ApiVersionsResponse, frame, bodyOffset, 0).apiKeys.length > 0);
        ids.push(header.correlationId);
      }
      assertEquals(ids, ids.map((_, i) => 1000 + i));
    } finally {
      conn.close();
    }
  },
});
