// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import {
  type CoordinatorRecord,
  decodeCoordinatorRecord,
  encodeCoordinatorRecord,
  javaStringHashCode,
  partitionForGroup,
  subscribedTopics,
} from "./schemas.ts";

const hex = (b: Uint8Array | null) =>
  b === null ? null : [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("partitionForGroup matches Kafka's Utils.toPositive(hashCode) % n", () => {
  assertEquals(javaStringHashCode("my-group"), -1906497762);
  assertEquals(partitionForGroup("my-group", 50), 36);
  assertEquals(partitionForGroup("console-consumer-12345", 50), 6);
  assertEquals(partitionForGroup("g", 50), 3);
  assertEquals(partitionForGroup("", 50), 0);
});

Deno.test("OffsetCommitKey v1 / OffsetCommitValue v3: exact bytes", () => {
  const { key, value } = encodeCoordinatorRecord({
    kind: "offset",
    groupId: "g",
    topic: "t",
    partition: 2,
    value: {
      offset: 300,
      leaderEpoch: 5,
      metadata: "m",
      commitTimestamp: 1000,
      expireTimestamp: -1,
    },
  });
  // version 1, "g", "t", partition 2
  assertEquals(hex(key), "0001" + "00016" + "7" + "000174" + "00000002");
  // version 3, offset 300, epoch 5, "m", commit 1000
  assertEquals(
    hex(value),
    "0003" + "000000000000012c" + "00000005" + "00016d" + "00000000000003e8",
  );
});

Deno.test("OffsetCommitValue v1 carries an explicit expiry; v0 reads without one", () => {
  const rec: CoordinatorRecord = {
    kind: "offset",
    groupId: "g",
    topic: "t",
    partition: 0,
    value: { offset: 1, leaderEpoch: -1, metadata: "", commitTimestamp: 10, expireTimestamp: 99 },
  };
  const { key, value } = encodeCoordinatorRecord(rec);
  assertEquals(hex(value)!.slice(0, 4), "0001");
  assertEquals(decodeCoordinatorRecord(key, value), rec);
  const v0 = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
  assertEquals(decodeCoordinatorRecord(key, v0), {
    ...rec,
    value: { offset: 7, leaderEpoch: -1, metadata: "", commitTimestamp: 9, expireTimestamp: -1 },
  });
});

Deno.test("GroupMetadataKey v2 / GroupMetadataValue v3 round trip, tombstones", () => {
  const rec: CoordinatorRecord = {
    kind: "group",
    groupId: "grp",
    value: {
      protocolType: "consumer",
      generationId: 4,
      protocolName: "range",
      leaderId: "m1",
      stateTimestamp: 12345,
      members: [{
        memberId: "m1",
        groupInstanceId: "i1",
        clientId: "c",
        clientHost: "/127.0.0.1",
        rebalanceTimeoutMs: 300000,
        sessionTimeoutMs: 45000,
        subscription: new Uint8Array([1, 2]),
        assignment: new Uint8Array([3]),
      }],
    },
  };
  const { key, value } = encodeCoordinatorRecord(rec);
  assertEquals(hex(key), "0002" + "0003677270");
  assertEquals(hex(value)!.slice(0, 4), "0003");
  assertEquals(decodeCoordinatorRecord(key, value), rec);
  const tomb = encodeCoordinatorRecord({ kind: "group", groupId: "grp", value: null });
  assertEquals(tomb.value, null);
  assertEquals(decodeCoordinatorRecord(tomb.key, null), {
    kind: "group",
    groupId: "grp",
    value: null,
  });
});

Deno.test("decodeCoordinatorRecord: unknown key versions are skipped, garbage is an error", () => {
  assertEquals(decodeCoordinatorRecord(new Uint8Array([0, 9, 0, 0]), null), null);
  assertThrows(
    () => decodeCoordinatorRecord(new Uint8Array([0, 1, 0, 5, 65]), null),
    /Cannot decode __consumer_offsets record: truncated/,
  );
  const { key } = encodeCoordinatorRecord({
    kind: "offset",
    groupId: "g",
    topic: "t",
    partition: 0,
    value: null,
  });
  assertThrows(
    () => decodeCoordinatorRecord(key, new Uint8Array([0, 7])),
    /unknown OffsetCommitValue version 7/,
  );
});

Deno.test("subscribedTopics reads ConsumerProtocolSubscription topics", () => {
  const sub = new Uint8Array([0, 1, 0, 0, 0, 2, 0, 1, 97, 0, 2, 98, 99, 255, 255, 255, 255]);
  assertEquals(subscribedTopics(sub), ["a", "bc"]);
  assertEquals(subscribedTopics(new Uint8Array([0, 1, 0, 0, 0, 9])), null);
});

Deno.test("consumer group records (key versions 3, 5, 8) round-trip in Kafka's v0 layouts", () => {
  const records: CoordinatorRecord[] = [
    { kind: "consumer-group", groupId: "g", value: { epoch: 7 } },
    { kind: "consumer-group", groupId: "g", value: null },
    {
      kind: "consumer-member",
      groupId: "g",
      memberId: "m",
      value: {
        instanceId: null,
        rackId: "r1",
        clientId: "c",
        clientHost: "/127.0.0.1",
        subscribedTopicNames: ["a", "b"],
        subscribedTopicRegex: null,
        rebalanceTimeoutMs: 30000,
        serverAssignor: "range",
      },
    },
    {
      kind: "consumer-assignment",
      groupId: "g",
      memberId: "m",
      value: {
        memberEpoch: 5,
        previousMemberEpoch: 4,
        state: 2,
        assignedPartitions: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAQ", partitions: [0, 2] }],
        partitionsPendingRevocation: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAQ", partitions: [1] }],
      },
    },
    { kind: "consumer-assignment", groupId: "g", memberId: "m", value: null },
  ];
  for (const r of records) {
    const { key, value } = encodeCoordinatorRecord(r);
    assertEquals(decodeCoordinatorRecord(key, value), r);
  }
  // ConsumerGroupMetadataValue v0: version, epoch, no tagged fields
  const { key, value } = encodeCoordinatorRecord(records[0]);
  assertEquals([...key], [0, 3, 0, 1, 103]);
  assertEquals([...value!], [0, 0, 0, 0, 0, 7, 0]);
});
