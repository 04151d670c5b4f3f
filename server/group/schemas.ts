// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Keys and values of the `__consumer_offsets` records, in Kafka's binary layouts (each an int16
 * version then the fields, non-flexible): `OffsetCommitKey` (key version 0/1), `OffsetCommitValue`
 * (v0-v3 read, v3 written), `GroupMetadataKey` (key version 2) and `GroupMetadataValue` (v0-v3
 * read, v3 written); and of KIP-848's consumer groups `ConsumerGroupMetadataKey` (key version 3)
 * with its flexible `ConsumerGroupMetadataValue` v0 (the group epoch). A `null` value is a
 * tombstone; `ConsumerGroupMemberMetadataKey` (key version 5) and
 * `ConsumerGroupCurrentMemberAssignmentKey` (key version 8) with their v0 values (members and
 * what each holds). Kafka's other consumer-group records (key versions 4, 6 and 7: subscription
 * metadata and target assignment, which Sluice recomputes) are not written, and skipped when read.
 *
 * @module
 */

import { Reader, Writer } from "../../protocol/primitives.ts";

/** A committed offset as stored in an `OffsetCommitValue`. */
export interface OffsetCommitValue {
  /** The committed offset. */
  offset: number;
  /** Leader epoch, or -1 (v3+). */
  leaderEpoch: number;
  /** Client metadata string. */
  metadata: string;
  /** Commit time (ms). */
  commitTimestamp: number;
  /** Explicit expiry time (v1 only), or -1. */
  expireTimestamp: number;
}

/** One member in a `GroupMetadataValue`. */
export interface GroupMemberSnapshot {
  /** Member id. */
  memberId: string;
  /** Static instance id, or `null`. */
  groupInstanceId: string | null;
  /** Client id. */
  clientId: string;
  /** Client host. */
  clientHost: string;
  /** Rebalance timeout (ms). */
  rebalanceTimeoutMs: number;
  /** Session timeout (ms). */
  sessionTimeoutMs: number;
  /** The member's metadata for the selected protocol. */
  subscription: Uint8Array;
  /** The member's assignment. */
  assignment: Uint8Array;
}

/** A group's metadata as stored in a `GroupMetadataValue`. */
export interface GroupSnapshot {
  /** Protocol type (`""` if none). */
  protocolType: string;
  /** Generation. */
  generationId: number;
  /** Selected protocol, or `null`. */
  protocolName: string | null;
  /** Leader member id, or `null`. */
  leaderId: string | null;
  /** When the group entered its current state (ms), or -1 if unknown. */
  stateTimestamp: number;
  /** Members. */
  members: GroupMemberSnapshot[];
}

/** A consumer-protocol member as stored in a `ConsumerGroupMemberMetadataValue` (v0). */
export interface ConsumerMemberSnapshot {
  /** Static instance id, or `null`. */
  instanceId: string | null;
  /** Rack id, or `null`. */
  rackId: string | null;
  /** Client id. */
  clientId: string;
  /** Client host. */
  clientHost: string;
  /** Subscribed topic names. */
  subscribedTopicNames: string[];
  /** Subscribed topic regex, or `null`. */
  subscribedTopicRegex: string | null;
  /** Rebalance timeout (ms). */
  rebalanceTimeoutMs: number;
  /** Server assignor, or `null`. */
  serverAssignor: string | null;
}

/** Partitions by topic id, as a `TopicPartitions` list of Kafka's records. */
export type TopicPartitionList = { topicId: string; partitions: number[] }[];

/** A member's current assignment as stored in a `ConsumerGroupCurrentMemberAssignmentValue` (v0). */
export interface ConsumerAssignmentSnapshot {
  /** Member epoch. */
  memberEpoch: number;
  /** Previous member epoch. */
  previousMemberEpoch: number;
  /** Kafka's `MemberState` byte: 0 stable, 2 unrevoked partitions, 3 unreleased partitions. */
  state: number;
  /** Assigned partitions. */
  assignedPartitions: TopicPartitionList;
  /** Partitions pending revocation. */
  partitionsPendingRevocation: TopicPartitionList;
}

/** One logical record of the coordinator's log. */
export type CoordinatorRecord =
  | {
    /** An offset commit (value) or offset deletion (`null`). */
    kind: "offset";
    /** Group id. */
    groupId: string;
    /** Topic. */
    topic: string;
    /** Partition. */
    partition: number;
    /** The commit, or `null` for a tombstone. */
    value: OffsetCommitValue | null;
  }
  | {
    /** Group metadata (value) or group deletion (`null`). */
    kind: "group";
    /** Group id. */
    groupId: string;
    /** The metadata, or `null` for a tombstone. */
    value: GroupSnapshot | null;
  }
  | {
    /** A consumer-protocol group (KIP-848) and its epoch, or its deletion (`null`). */
    kind: "consumer-group";
    /** Group id. */
    groupId: string;
    /** The group epoch, or `null` for a tombstone. */
    value: { epoch: number } | null;
  }
  | {
    /** A consumer-protocol member's metadata (key version 5), or its removal (`null`). */
    kind: "consumer-member";
    /** Group id. */
    groupId: string;
    /** Member id. */
    memberId: string;
    /** The metadata, or `null` for a tombstone. */
    value: ConsumerMemberSnapshot | null;
  }
  | {
    /** A consumer-protocol member's current assignment (key version 8), or its removal. */
    kind: "consumer-assignment";
    /** Group id. */
    groupId: string;
    /** Member id. */
    memberId: string;
    /** The assignment, or `null` for a tombstone. */
    value: ConsumerAssignmentSnapshot | null;
  }
  | {
    /**
     * A consumer-protocol group's resolved topic regex (Kafka 4.0's
     * `ConsumerGroupRegularExpression`, key version 16), or its removal (`null`).
     */
    kind: "consumer-regex";
    /** Group id. */
    groupId: string;
    /** The regular expression. */
    regex: string;
    /** What it resolved to, or `null` for a tombstone. */
    value: ResolvedRegexSnapshot | null;
  };

/** A resolved regex as stored in a `ConsumerGroupRegularExpressionValue` (v0). */
export interface ResolvedRegexSnapshot {
  /** The matching topic names. */
  topics: string[];
  /** Kafka: the metadata image offset it was resolved at; Sluice: the group epoch then. */
  version: number;
  /** When it was resolved (ms). */
  timestamp: number;
}

function writeTopicPartitions(w: Writer, list: TopicPartitionList): void {
  w.writeCompactArrayLength(list.length);
  for (const t of list) {
    w.writeUuid(t.topicId);
    w.writeCompactArrayLength(t.partitions.length);
    for (const p of t.partitions) w.writeInt32(p);
    w.writeUnsignedVarint(0);
  }
}

function readTopicPartitions(r: Reader): TopicPartitionList {
  const n = r.readCompactArrayLength();
  const out: TopicPartitionList = [];
  for (let i = 0; i < n; i++) {
    const topicId = r.readUuid();
    const m = r.readCompactArrayLength();
    const partitions: number[] = [];
    for (let j = 0; j < m; j++) partitions.push(r.readInt32());
    r.skipTaggedFields();
    out.push({ topicId, partitions });
  }
  return out;
}

/**
 * Encode a coordinator record as the key and value bytes of a `__consumer_offsets` record.
 *
 * @example
 * ```ts
 * import { decodeCoordinatorRecord, encodeCoordinatorRecord } from "./schemas.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const rec = {
 *   kind: "offset" as const,
 *   groupId: "g",
 *   topic: "t",
 *   partition: 0,
 *   value: { offset: 5, leaderEpoch: -1, metadata: "", commitTimestamp: 1, expireTimestamp: -1 },
 * };
 * const { key, value } = encodeCoordinatorRecord(rec);
 * assertEquals(decodeCoordinatorRecord(key, value), rec);
 * ```
 *
 * @param record The record.
 * @returns The key and value (`null` for a tombstone).
 */
export function encodeCoordinatorRecord(
  record: CoordinatorRecord,
): { key: Uint8Array; value: Uint8Array | null } {
  const k = new Writer(64);
  if (record.kind === "offset") {
    k.writeInt16(1);
    k.writeString(record.groupId);
    k.writeString(record.topic);
    k.writeInt32(record.partition);
    if (record.value === null) return { key: k.finish(), value: null };
    const v = new Writer(64);
    const o = record.value;
    if (o.expireTimestamp !== -1) {
      // Version 1 is the only one that carries an explicit expiry.
      v.writeInt16(1);
      v.writeInt64(o.offset);
      v.writeString(o.metadata);
      v.writeInt64(o.commitTimestamp);
      v.writeInt64(o.expireTimestamp);
    } else {
      v.writeInt16(3);
      v.writeInt64(o.offset);
      v.writeInt32(o.leaderEpoch);
      v.writeString(o.metadata);
      v.writeInt64(o.commitTimestamp);
    }
    return { key: k.finish(), value: v.finish() };
  }
  if (record.kind === "consumer-member" || record.kind === "consumer-assignment") {
    k.writeInt16(record.kind === "consumer-member" ? 5 : 8);
    k.writeString(record.groupId);
    k.writeString(record.memberId);
    if (record.value === null) return { key: k.finish(), value: null };
    const v = new Writer(128);
    v.writeInt16(0);
    if (record.kind === "consumer-member") {
      const m = record.value;
      v.writeCompactNullableString(m.instanceId);
      v.writeCompactNullableString(m.rackId);
      v.writeCompactString(m.clientId);
      v.writeCompactString(m.clientHost);
      v.writeCompactArrayLength(m.subscribedTopicNames.length);
      for (const n of m.subscribedTopicNames) v.writeCompactString(n);
      v.writeCompactNullableString(m.subscribedTopicRegex);
      v.writeInt32(m.rebalanceTimeoutMs);
      v.writeCompactNullableString(m.serverAssignor);
    } else {
      const a = record.value;
      v.writeInt32(a.memberEpoch);
      v.writeInt32(a.previousMemberEpoch);
      v.writeInt8(a.state);
      writeTopicPartitions(v, a.assignedPartitions);
      writeTopicPartitions(v, a.partitionsPendingRevocation);
    }
    v.writeUnsignedVarint(0); // no tagged fields
    return { key: k.finish(), value: v.finish() };
  }
  if (record.kind === "consumer-regex") {
    k.writeInt16(16);
    k.writeString(record.groupId);
    k.writeString(record.regex);
    if (record.value === null) return { key: k.finish(), value: null };
    const v = new Writer(64);
    v.writeInt16(0);
    v.writeCompactArrayLength(record.value.topics.length);
    for (const t of record.value.topics) v.writeCompactString(t);
    v.writeInt64(record.value.version);
    v.writeInt64(record.value.timestamp);
    v.writeUnsignedVarint(0); // no tagged fields
    return { key: k.finish(), value: v.finish() };
  }
  if (record.kind === "consumer-group") {
    k.writeInt16(3);
    k.writeString(record.groupId);
    if (record.value === null) return { key: k.finish(), value: null };
    const v = new Writer(16);
    v.writeInt16(0);
    v.writeInt32(record.value.epoch);
    v.writeUnsignedVarint(0); // no tagged fields
    return { key: k.finish(), value: v.finish() };
  }
  k.writeInt16(2);
  k.writeString(record.groupId);
  if (record.value === null) return { key: k.finish(), value: null };
  const g = record.value;
  const v = new Writer(256);
  v.writeInt16(3);
  v.writeString(g.protocolType);
  v.writeInt32(g.generationId);
  v.writeNullableString(g.protocolName);
  v.writeNullableString(g.leaderId);
  v.writeInt64(g.stateTimestamp);
  v.writeArrayLength(g.members.length);
  for (const m of g.members) {
    v.writeString(m.memberId);
    v.writeNullableString(m.groupInstanceId);
    v.writeString(m.clientId);
    v.writeString(m.clientHost);
    v.writeInt32(m.rebalanceTimeoutMs);
    v.writeInt32(m.sessionTimeoutMs);
    v.writeBytes(m.subscription);
    v.writeBytes(m.assignment);
  }
  return { key: k.finish(), value: v.finish() };
}

/**
 * Decode the key and value of a `__consumer_offsets` record.
 *
 * @param key The record key.
 * @param value The record value, or `null` for a tombstone.
 * @returns The record, or `null` for key versions this broker does not know (e.g. Kafka's
 *   consumer-protocol records of KIP-848), which are skipped.
 * @throws {RangeError} If the key or value is malformed or of an unknown value version.
 */
export function decodeCoordinatorRecord(
  key: Uint8Array,
  value: Uint8Array | null,
): CoordinatorRecord | null {
  try {
    const k = new Reader(key);
    const keyVersion = k.readInt16();
    if (keyVersion === 0 || keyVersion === 1) {
      const groupId = k.readString();
      const topic = k.readString();
      const partition = k.readInt32();
      if (value === null) return { kind: "offset", groupId, topic, partition, value: null };
      const v = new Reader(value);
      const version = v.readInt16();
      if (version < 0 || version > 3) {
        throw new RangeError(`unknown OffsetCommitValue version ${version}`);
      }
      const offset = v.readInt64();
      const leaderEpoch = version >= 3 ? v.readInt32() : -1;
      const metadata = v.readString();
      const commitTimestamp = v.readInt64();
      const expireTimestamp = version === 1 ? v.readInt64() : -1;
      return {
        kind: "offset",
        groupId,
        topic,
        partition,
        value: { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp },
      };
    }
    if (keyVersion === 2) {
      const groupId = k.readString();
      if (value === null) return { kind: "group", groupId, value: null };
      const v = new Reader(value);
      const version = v.readInt16();
      if (version < 0 || version > 3) {
        throw new RangeError(`unknown GroupMetadataValue version ${version}`);
      }
      const protocolType = v.readString();
      const generationId = v.readInt32();
      const protocolName = v.readNullableString();
      const leaderId = v.readNullableString();
      const stateTimestamp = version >= 2 ? v.readInt64() : -1;
      const n = v.readArrayLength();
      const members: GroupMemberSnapshot[] = [];
      for (let i = 0; i < n; i++) {
        const memberId = v.readString();
        const groupInstanceId = version >= 3 ? v.readNullableString() : null;
        const clientId = v.readString();
        const clientHost = v.readString();
        const rebalanceTimeoutMs = v.readInt32();
        const sessionTimeoutMs = version >= 1 ? v.readInt32() : rebalanceTimeoutMs;
        const subscription = v.readBytes().slice();
        const assignment = v.readBytes().slice();
        members.push({
          memberId,
          groupInstanceId,
          clientId,
          clientHost,
          rebalanceTimeoutMs,
          sessionTimeoutMs,
          subscription,
          assignment,
        });
      }
      return {
        kind: "group",
        groupId,
        value: { protocolType, generationId, protocolName, leaderId, stateTimestamp, members },
      };
    }
    if (keyVersion === 3) {
      const groupId = k.readString();
      if (value === null) return { kind: "consumer-group", groupId, value: null };
      const v = new Reader(value);
      v.readInt16(); // ConsumerGroupMetadataValue v0+: the epoch first, then tagged fields
      return { kind: "consumer-group", groupId, value: { epoch: v.readInt32() } };
    }
    if (keyVersion === 16) {
      const groupId = k.readString();
      const regex = k.readString();
      if (value === null) return { kind: "consumer-regex", groupId, regex, value: null };
      const v = new Reader(value);
      v.readInt16();
      const n = v.readCompactArrayLength();
      const topics: string[] = [];
      for (let i = 0; i < n; i++) topics.push(v.readCompactString());
      const version = v.readInt64();
      const timestamp = v.readInt64();
      return { kind: "consumer-regex", groupId, regex, value: { topics, version, timestamp } };
    }
    if (keyVersion === 5 || keyVersion === 8) {
      const groupId = k.readString();
      const memberId = k.readString();
      if (keyVersion === 5) {
        if (value === null) return { kind: "consumer-member", groupId, memberId, value: null };
        const v = new Reader(value);
        v.readInt16();
        const instanceId = v.readCompactNullableString();
        const rackId = v.readCompactNullableString();
        const clientId = v.readCompactString();
        const clientHost = v.readCompactString();
        const n = v.readCompactArrayLength();
        const subscribedTopicNames: string[] = [];
        for (let i = 0; i < n; i++) subscribedTopicNames.push(v.readCompactString());
        const subscribedTopicRegex = v.readCompactNullableString();
        const rebalanceTimeoutMs = v.readInt32();
        const serverAssignor = v.readCompactNullableString();
        return {
          kind: "consumer-member",
          groupId,
          memberId,
          value: {
            instanceId,
            rackId,
            clientId,
            clientHost,
            subscribedTopicNames,
            subscribedTopicRegex,
            rebalanceTimeoutMs,
            serverAssignor,
          },
        };
      }
      if (value === null) return { kind: "consumer-assignment", groupId, memberId, value: null };
      const v = new Reader(value);
      v.readInt16();
      const memberEpoch = v.readInt32();
      const previousMemberEpoch = v.readInt32();
      const state = v.readInt8();
      const assignedPartitions = readTopicPartitions(v);
      const partitionsPendingRevocation = readTopicPartitions(v);
      return {
        kind: "consumer-assignment",
        groupId,
        memberId,
        value: {
          memberEpoch,
          previousMemberEpoch,
          state,
          assignedPartitions,
          partitionsPendingRevocation,
        },
      };
    }
    return null;
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new RangeError(`Cannot decode __consumer_offsets record: ${detail}`);
  }
}

/**
 * Kafka's `String.hashCode()` of a group id (UTF-16 code units, int32 arithmetic).
 *
 * @param s The string.
 * @returns The signed 32-bit hash.
 */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * The `__consumer_offsets` partition of a group, as Kafka computes it:
 * `Utils.toPositive(groupId.hashCode()) % numPartitions`.
 *
 * @example
 * ```ts
 * import { partitionForGroup } from "./schemas.ts";
 *
 * console.log(partitionForGroup("my-group", 50)); // 36, as in Kafka
 * ```
 *
 * @param groupId The group id.
 * @param numPartitions `offsets.topic.num.partitions`.
 * @returns The partition.
 */
export function partitionForGroup(groupId: string, numPartitions: number): number {
  return (javaStringHashCode(groupId) & 0x7fffffff) % numPartitions;
}

/**
 * The topics in a consumer-protocol subscription (`ConsumerProtocolSubscription`, any version:
 * they all start with an int16 version and the topic array).
 *
 * @param metadata The member's protocol metadata.
 * @returns The subscribed topics, or `null` if the bytes are not a subscription.
 */
export function subscribedTopics(metadata: Uint8Array): string[] | null {
  try {
    const r = new Reader(metadata);
    r.readInt16();
    const n = r.readArrayLength();
    const topics: string[] = [];
    for (let i = 0; i < n; i++) topics.push(r.readString());
    return topics;
  } catch {
    return null;
  }
}
