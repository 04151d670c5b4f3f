// Copyright 2026 the Sluice authors. Apache-2.0 license.
// KIP-392 in our consumer against two fake brokers on real ports: broker 1 leads partitions 0
// and 1 of `t`; to a consumer in rack r2 it answers partition 0 with `preferred_read_replica` 2
// (and serves partition 1 itself), and broker 2 refuses partition 0 with NOT_LEADER_OR_FOLLOWER
// every time, so the leader keeps sending the partition back to the same failing follower. Every
// request each broker receives is recorded; `Date.now` is a fake clock the test moves, so the
// backoff is checked by which requests each poll makes, not by timing.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../protocol/errors.ts";
import {
  decodeRequestBody,
  decodeRequestHeader,
  encodeResponseFrame,
} from "../protocol/framing.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import {
  createFetchResponseFetchableTopicResponse,
  createFetchResponsePartitionData,
  FetchRequest,
  FetchResponse,
} from "../protocol/messages/fetch.ts";
import { MetadataRequest, MetadataResponse } from "../protocol/messages/metadata.ts";
import { Client } from "./client.ts";
import { Consumer, PREFERRED_READ_REPLICA_MIN_LEASE_INTERVAL_MS } from "./consumer.ts";

const TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAQ";

/** Two fake brokers (node ids 1 and 2); `log` gets one line per Fetch or Metadata request. */
function fakeCluster(log: string[]) {
  const listeners = [1, 2].map(() => Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  const ports = listeners.map((l) => l.addr.port);
  const conns = new Set<Deno.Conn>();
  const answer = (nodeId: number, payload: Uint8Array): Uint8Array[] => {
    const { header, bodyOffset } = decodeRequestHeader(payload);
    const version = header.requestApiVersion;
    const id = header.correlationId;
    switch (header.requestApiKey) {
      case ApiVersionsRequest.apiKey:
        return encodeResponseFrame(
          ApiVersionsResponse,
          Math.min(version, 3),
          id,
          ApiVersionsResponse.create({
            errorCode: 0,
            apiKeys: [
              { apiKey: ApiVersionsRequest.apiKey, minVersion: 0, maxVersion: 3 },
              { apiKey: MetadataRequest.apiKey, minVersion: 1, maxVersion: 12 },
              { apiKey: FetchRequest.apiKey, minVersion: 11, maxVersion: 12 },
            ],
          }),
        );
      case MetadataRequest.apiKey:
        log.push(`metadata@${nodeId}`);
        return encodeResponseFrame(
          MetadataResponse,
          version,
          id,
          MetadataResponse.create({
            brokers: ports.map((port, i) => ({
              nodeId: i + 1,
              host: "127.0.0.1",
              port,
              rack: `r${i + 1}`,
            })),
            clusterId: "fake",
            controllerId: 1,
            topics: [{
              errorCode: 0,
              name: "t",
              topicId: TOPIC_ID,
              isInternal: false,
              partitions: [0, 1].map((partitionIndex) => ({
                errorCode: 0,
                partitionIndex,
                leaderId: 1,
                leaderEpoch: 0,
                replicaNodes: [1, 2],
                isrNodes: [1, 2],
                offlineReplicas: [],
              })),
              topicAuthorizedOperations: -2147483648,
            }],
          }),
        );
      case FetchRequest.apiKey: {
        const { message } = decodeRequestBody(FetchRequest, payload, bodyOffset, version);
        const parts = message.topics.flatMap((t) => t.partitions.map((p) => p.partition));
        log.push(`fetch@${nodeId} ${parts.join(",")} rack=${message.rackId}`);
        return encodeResponseFrame(
          FetchResponse,
          version,
          id,
          FetchResponse.create({
            errorCode: 0,
            sessionId: 0,
            responses: message.topics.map((t) =>
              createFetchResponseFetchableTopicResponse({
                topic: t.topic,
                partitions: t.partitions.map((p) =>
                  createFetchResponsePartitionData({
                    partitionIndex: p.partition,
                    errorCode: nodeId === 2 ? ErrorCode.NOT_LEADER_OR_FOLLOWER : 0,
                    highWatermark: nodeId === 2 ? -1 : 0,
                    lastStableOffset: nodeId === 2 ? -1 : 0,
                    logStartOffset: nodeId === 2 ? -1 : 0,
                    preferredReadReplica: nodeId === 1 && p.partition === 0 ? 2 : -1,
                    records: null,
                  })
                ),
              })
            ),
          }),
        );
      }
      default:
        throw new Error(`fake broker ${nodeId}: API ${header.requestApiKey} not expected`);
    }
  };
  const serve = async (nodeId: number, conn: Deno.Conn) => {
    conns.add(conn);
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(chunk);
        if (n === null) return;
        const next = new Uint8Array(buf.length + n);
        next.set(buf);
        next.set(chunk.subarray(0, n), buf.length);
        buf = next;
        while (buf.length >= 4) {
          const size = new DataView(buf.buffer, buf.byteOffset).getInt32(0);
          if (buf.length < 4 + size) break;
          for (const out of answer(nodeId, buf.slice(4, 4 + size))) {
            for (let w = 0; w < out.length;) w += await conn.write(out.subarray(w));
          }
          buf = buf.slice(4 + size);
        }
      }
    } catch {
      // closed by the test
    } finally {
      conns.delete(conn);
    }
  };
  const accepting = listeners.map(async (l, i) => {
    try {
      for await (const conn of l) serve(i + 1, conn);
    } catch {
      // closed
    }
  });
  return {
    bootstrap: `127.0.0.1:${ports[0]}`,
    async close() {
      for (const l of listeners) l.close();
      for (const c of conns) c.close();
      await Promise.all(accepting);
    },
  };
}

Deno.test({
  name:
    "KIP-392: a partition the leader keeps sending to a failing follower backs off, doubling to ten times retryBackoffMs",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const log: string[] = [];
    const cluster = fakeCluster(log);
    const realNow = Date.now;
    let now = realNow();
    Date.now = () => now;
    const retryBackoffMs = 10;
    const client = new Client({ bootstrapServers: cluster.bootstrap, retryBackoffMs });
    try {
      const consumer = new Consumer(client, { clientRack: "r2", maxWaitMs: 5, prefetch: false });
      await consumer.assign([
        { topic: "t", partition: 0, offset: 0 },
        { topic: "t", partition: 1, offset: 0 },
      ]);
      log.length = 0;
      /** Moves the fake clock by `ms`, polls once; the requests the poll made. */
      const poll = async (ms: number) => {
        now += ms;
        const from = log.length;
        assertEquals(await consumer.poll(), []);
        return log.slice(from).sort();
      };
      const leader = "fetch@1 0,1 rack=r2";
      const follower = "fetch@2 0 rack=r2";
      const leaderAlone = "fetch@1 1 rack=r2"; // partition 0 held back, partition 1 fetched
      // the first lease: no backoff; the follower refuses; the leader sends it there again at
      // once (metadata looked up again after the follower's error)
      assertEquals(await poll(0), [leader]);
      assertEquals(await poll(0), [leaderAlone, follower]);
      assertEquals(await poll(0), [leader, "metadata@1"]);
      // each lease within a minute of the last holds partition 0 back for 10, 20, 40, 80, then
      // 100 ms (10 x retryBackoffMs) and stays there; partition 1 goes on being fetched
      for (const backoff of [10, 20, 40, 80, 100, 100]) {
        assertEquals(await poll(backoff - 1), [leaderAlone], `held back for ${backoff} ms`);
        assertEquals(await poll(1), [leaderAlone, follower], `fetched after ${backoff} ms`);
        assertEquals(await poll(0), [leader, "metadata@1"]);
      }
      // a lease a minute after the last one is not held back, and starts counting again
      assertEquals(await poll(100), [leaderAlone, follower]);
      assertEquals(
        await poll(PREFERRED_READ_REPLICA_MIN_LEASE_INTERVAL_MS - 100),
        [leader, "metadata@1"],
      );
      assertEquals(await poll(0), [leaderAlone, follower]);
      assertEquals(await poll(0), [leader, "metadata@1"]);
      assertEquals(await poll(9), [leaderAlone]);
      assertEquals(await poll(1), [leaderAlone, follower]);
      await consumer.close();
    } finally {
      Date.now = realNow;
      await client.close();
      await cluster.close();
    }
  },
});

Deno.test({
  name: "KIP-392: with every partition held back, a poll waits and sends nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const log: string[] = [];
    const cluster = fakeCluster(log);
    const realNow = Date.now;
    let now = realNow();
    Date.now = () => now;
    const client = new Client({ bootstrapServers: cluster.bootstrap, retryBackoffMs: 10 });
    try {
      const consumer = new Consumer(client, { clientRack: "r2", maxWaitMs: 5, prefetch: false });
      await consumer.assign([{ topic: "t", partition: 0, offset: 0 }]);
      log.length = 0;
      for (let i = 0; i < 3; i++) assertEquals(await consumer.poll(), []);
      assertEquals(log, [
        "fetch@1 0 rack=r2",
        "fetch@2 0 rack=r2",
        "metadata@1",
        "fetch@1 0 rack=r2",
      ]);
      // held back 10 ms on the fake clock, which does not move: ten polls send nothing
      for (let i = 0; i < 10; i++) assertEquals(await consumer.poll(), []);
      assertEquals(log.length, 4);
      now += 10;
      assertEquals(await consumer.poll(), []);
      assertEquals(log.slice(4), ["fetch@2 0 rack=r2"]);
      await consumer.close();
    } finally {
      Date.now = realNow;
      await client.close();
      await cluster.close();
    }
  },
});
