// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Every API's ACL check on a real broker, as User:ANONYMOUS over PLAINTEXT: refused with Kafka's
// error and nothing moves (logs, offsets, topics, configs unchanged), then allowed once the ACL
// Kafka asks for is added.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import { ListOffsetsRequest, ListOffsetsResponse } from "../../protocol/messages/list_offsets.ts";
import {
  OffsetCommitRequest,
  OffsetCommitResponse,
} from "../../protocol/messages/offset_commit.ts";
import { OffsetFetchRequest, OffsetFetchResponse } from "../../protocol/messages/offset_fetch.ts";
import {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../../protocol/messages/find_coordinator.ts";
import { JoinGroupRequest, JoinGroupResponse } from "../../protocol/messages/join_group.ts";
import { HeartbeatRequest, HeartbeatResponse } from "../../protocol/messages/heartbeat.ts";
import {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
} from "../../protocol/messages/consumer_group_heartbeat.ts";
import {
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse,
} from "../../protocol/messages/consumer_group_describe.ts";
import { SyncGroupRequest, SyncGroupResponse } from "../../protocol/messages/sync_group.ts";
import { LeaveGroupRequest, LeaveGroupResponse } from "../../protocol/messages/leave_group.ts";
import {
  DescribeGroupsRequest,
  DescribeGroupsResponse,
} from "../../protocol/messages/describe_groups.ts";
import { ListGroupsRequest, ListGroupsResponse } from "../../protocol/messages/list_groups.ts";
import {
  DeleteGroupsRequest,
  DeleteGroupsResponse,
} from "../../protocol/messages/delete_groups.ts";
import {
  OffsetDeleteRequest,
  OffsetDeleteResponse,
} from "../../protocol/messages/offset_delete.ts";
import {
  CreateTopicsRequest,
  CreateTopicsResponse,
} from "../../protocol/messages/create_topics.ts";
import {
  DeleteTopicsRequest,
  DeleteTopicsResponse,
} from "../../protocol/messages/delete_topics.ts";
import {
  DeleteRecordsRequest,
  DeleteRecordsResponse,
} from "../../protocol/messages/delete_records.ts";
import {
  CreatePartitionsRequest,
  CreatePartitionsResponse,
} from "../../protocol/messages/create_partitions.ts";
import {
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from "../../protocol/messages/describe_configs.ts";
import {
  AlterConfigsRequest,
  AlterConfigsResponse,
} from "../../protocol/messages/alter_configs.ts";
import {
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from "../../protocol/messages/incremental_alter_configs.ts";
import {
  DescribeLogDirsRequest,
  DescribeLogDirsResponse,
} from "../../protocol/messages/describe_log_dirs.ts";
import {
  DescribeClusterRequest,
  DescribeClusterResponse,
} from "../../protocol/messages/describe_cluster.ts";
import {
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
} from "../../protocol/messages/offset_for_leader_epoch.ts";
import {
  DescribeProducersRequest,
  DescribeProducersResponse,
} from "../../protocol/messages/describe_producers.ts";
import {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../../protocol/messages/init_producer_id.ts";
import {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
} from "../../protocol/messages/add_partitions_to_txn.ts";
import {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
} from "../../protocol/messages/add_offsets_to_txn.ts";
import { EndTxnRequest, EndTxnResponse } from "../../protocol/messages/end_txn.ts";
import {
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
} from "../../protocol/messages/txn_offset_commit.ts";
import {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from "../../protocol/messages/write_txn_markers.ts";
import {
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
} from "../../protocol/messages/describe_transactions.ts";
import {
  ListTransactionsRequest,
  ListTransactionsResponse,
} from "../../protocol/messages/list_transactions.ts";
import {
  ElectLeadersRequest,
  ElectLeadersResponse,
} from "../../protocol/messages/elect_leaders.ts";
import {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
} from "../../protocol/messages/alter_partition_reassignments.ts";
import {
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
} from "../../protocol/messages/list_partition_reassignments.ts";
import {
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
} from "../../protocol/messages/describe_user_scram_credentials.ts";
import {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
} from "../../protocol/messages/alter_user_scram_credentials.ts";
import { buildBatch } from "../../wasm/testing.ts";
import { SCRAM_CREDENTIALS_FILE } from "../security/scram_credentials.ts";
import type { Broker } from "../broker.ts";
import {
  type AclBinding,
  AclOperation as Op,
  PatternType,
  ResourceType as RT,
} from "../security/acl.ts";
import {
  allowAnonymous as allow,
  createTopic,
  fetchBody,
  produceBody,
  RawClient,
  revokeAcls,
  startAclBroker,
} from "../testing.ts";

const TRANSACTIONAL = 0x10;

async function grant(broker: Broker, ...acls: AclBinding[]): Promise<void> {
  await broker.authorizer!.createAcls(acls);
}

/** A broker with the ACL authorizer and topic `t` (made before the authorizer applies). */
const aclBroker = () => startAclBroker({ t: 2 });

/** The bytes in a partition's segment files: what an append would grow. */
async function logBytes(dir: string, topic: string, p: number): Promise<number> {
  let bytes = 0;
  for await (const e of Deno.readDir(`${dir}/${topic}-${p}`)) {
    if (e.name.endsWith(".log")) bytes += (await Deno.stat(`${dir}/${topic}-${p}/${e.name}`)).size;
  }
  return bytes;
}

Deno.test("ACLs: Produce, Fetch, ListOffsets, OffsetForLeaderEpoch, DescribeProducers refused with TOPIC_AUTHORIZATION_FAILED; nothing appended", async () => {
  await using h = await aclBroker();
  const batch = () => buildBatch({ records: [{ key: "k", value: "v" }] });
  const before = await logBytes(h.tb.dir, "t", 0);
  const p = await h.client.request(
    ProduceRequest,
    ProduceResponse,
    9,
    produceBody("t", 0, batch()),
  );
  assertEquals(
    p.responses[0].partitionResponses[0].errorCode,
    ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  );
  assertEquals(await logBytes(h.tb.dir, "t", 0), before);
  // an unknown topic one may not write is refused the same way (nothing revealed)
  const u = await h.client.request(
    ProduceRequest,
    ProduceResponse,
    9,
    produceBody("nope", 0, batch()),
  );
  assertEquals(
    u.responses[0].partitionResponses[0].errorCode,
    ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  );
  // acks=0: the connection is closed, nothing appended
  const c0 = await RawClient.connect(h.broker.port);
  await c0.send(ProduceRequest, 9, produceBody("t", 0, batch(), 0));
  await c0.expectClosed();
  c0.close();
  assertEquals(await logBytes(h.tb.dir, "t", 0), before);

  await grant(h.broker, allow(RT.TOPIC, "t", Op.WRITE));
  const ok = await h.client.request(
    ProduceRequest,
    ProduceResponse,
    9,
    produceBody("t", 0, batch()),
  );
  assertEquals(ok.responses[0].partitionResponses[0].errorCode, 0);

  // WRITE implies DESCRIBE, not READ
  const f = await h.client.request(
    FetchRequest,
    FetchResponse,
    12,
    fetchBody([{ topic: "t", partition: 0, offset: 0 }]),
  );
  assertEquals(f.responses[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assertEquals(f.responses[0].partitions[0].records?.length ?? 0, 0);
  const lf = await h.client.request(
    FetchRequest,
    FetchResponse,
    3,
    fetchBody([{ topic: "t", partition: 0, offset: 0 }]),
  );
  assertEquals(lf.responses[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  // a "follower" fetch needs CLUSTER_ACTION
  const ff = await h.client.request(
    FetchRequest,
    FetchResponse,
    12,
    fetchBody([{ topic: "t", partition: 0, offset: 0 }], { replicaId: 5 }),
  );
  assertEquals(ff.responses[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const dp = await h.client.request(DescribeProducersRequest, DescribeProducersResponse, 0, {
    topics: [{ name: "t", partitionIndexes: [0] }],
  });
  assertEquals(dp.topics[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  await grant(h.broker, allow(RT.TOPIC, "t", Op.READ));
  const f2 = await h.client.request(
    FetchRequest,
    FetchResponse,
    12,
    fetchBody([{ topic: "t", partition: 0, offset: 0 }]),
  );
  assertEquals(f2.responses[0].partitions[0].errorCode, 0);
  assertEquals((f2.responses[0].partitions[0].records?.length ?? 0) > 0, true);

  // DESCRIBE: ListOffsets and OffsetForLeaderEpoch (for a consumer); topic "u" has no ACL
  await grant(h.broker, allow(RT.CLUSTER, "kafka-cluster", Op.CREATE));
  await createTopic(h.client, "u", 1);
  const lo = await h.client.request(ListOffsetsRequest, ListOffsetsResponse, 7, {
    replicaId: -1,
    topics: [
      {
        name: "t",
        partitions: [{
          partitionIndex: 0,
          timestamp: -1,
          currentLeaderEpoch: -1,
          maxNumOffsets: 1,
        }],
      },
      {
        name: "u",
        partitions: [{
          partitionIndex: 0,
          timestamp: -1,
          currentLeaderEpoch: -1,
          maxNumOffsets: 1,
        }],
      },
    ],
  });
  assertEquals(lo.topics.map((t) => [t.name, t.partitions[0].errorCode, t.partitions[0].offset]), [
    ["t", 0, 1],
    ["u", ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1],
  ]);
  const ofle = await h.client.request(
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
    4,
    {
      replicaId: -1,
      topics: [
        { topic: "t", partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] },
        { topic: "u", partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] },
      ],
    },
  );
  assertEquals(ofle.topics.map((t) => t.partitions[0].errorCode), [
    0,
    ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  ]);
});

Deno.test("ACLs: Metadata hides topics, refuses named ones, needs CREATE to auto-create; authorized operations", async () => {
  await using h = await aclBroker();
  await grant(h.broker, allow(RT.CLUSTER, "kafka-cluster", Op.CREATE));
  await createTopic(h.client, "visible", 1);
  await revokeAcls(h.broker, RT.CLUSTER);
  await grant(h.broker, allow(RT.TOPIC, "vis", Op.READ, PatternType.PREFIXED));
  const all = await h.client.request(MetadataRequest, MetadataResponse, 12, { topics: null });
  assertEquals(all.topics.map((t) => t.name), ["visible"]);
  const all0 = await h.client.request(MetadataRequest, MetadataResponse, 0, { topics: [] });
  assertEquals(all0.topics.map((t) => t.name), ["visible"]);
  const named = await h.client.request(MetadataRequest, MetadataResponse, 12, {
    topics: [{ name: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }, {
      name: "visible",
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
    }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: true,
  });
  assertEquals(named.topics.map((t) => [t.name, t.errorCode]), [
    ["t", ErrorCode.TOPIC_AUTHORIZATION_FAILED],
    ["visible", 0],
  ]);
  // READ (and DESCRIBE, which it implies) of the topic's supported operations
  assertEquals(named.topics[1].topicAuthorizedOperations, (1 << Op.READ) | (1 << Op.DESCRIBE));
  // auto-creation: DESCRIBE is not CREATE
  const auto = await h.client.request(MetadataRequest, MetadataResponse, 9, {
    topics: [{ name: "vis-new", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: true,
  });
  assertEquals(auto.topics[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assertEquals(auto.clusterAuthorizedOperations, 0);
  assertEquals(h.broker.authorizer !== undefined, true);
  await grant(h.broker, allow(RT.TOPIC, "vis-", Op.CREATE, PatternType.PREFIXED));
  const auto2 = await h.client.request(MetadataRequest, MetadataResponse, 9, {
    topics: [{ name: "vis-new", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
    allowAutoTopicCreation: true,
  });
  assertEquals([auto2.topics[0].errorCode, auto2.topics[0].partitions.length], [0, 1]);
  const dc = await h.client.request(DescribeClusterRequest, DescribeClusterResponse, 0, {
    includeClusterAuthorizedOperations: true,
  });
  assertEquals([dc.errorCode, dc.clusterAuthorizedOperations], [0, 0]);
});

Deno.test("ACLs: group APIs refused with GROUP_AUTHORIZATION_FAILED; offsets not committed", async () => {
  await using h = await aclBroker();
  const commit = () =>
    h.client.request(OffsetCommitRequest, OffsetCommitResponse, 8, {
      groupId: "g",
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{
        name: "t",
        partitions: [{
          partitionIndex: 0,
          committedOffset: 5,
          committedLeaderEpoch: -1,
          committedMetadata: "",
          commitTimestamp: -1,
        }],
      }],
    });
  const fetchOffsets = () =>
    h.client.request(OffsetFetchRequest, OffsetFetchResponse, 7, {
      groupId: "g",
      topics: [{ name: "t", partitionIndexes: [0] }],
      requireStable: false,
    });
  assertEquals(
    (await commit()).topics[0].partitions[0].errorCode,
    ErrorCode.GROUP_AUTHORIZATION_FAILED,
  );
  assertEquals((await fetchOffsets()).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  const fc = await h.client.request(FindCoordinatorRequest, FindCoordinatorResponse, 4, {
    keyType: 0,
    coordinatorKeys: ["g"],
  });
  assertEquals(fc.coordinators[0].errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  const join = await h.client.request(JoinGroupRequest, JoinGroupResponse, 7, {
    groupId: "g",
    sessionTimeoutMs: 10000,
    rebalanceTimeoutMs: 10000,
    memberId: "",
    groupInstanceId: null,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: new Uint8Array() }],
  });
  assertEquals(join.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  assertEquals(
    (await h.client.request(SyncGroupRequest, SyncGroupResponse, 5, {
      groupId: "g",
      generationId: 1,
      memberId: "m",
      assignments: [],
    })).errorCode,
    ErrorCode.GROUP_AUTHORIZATION_FAILED,
  );
  assertEquals(
    (await h.client.request(HeartbeatRequest, HeartbeatResponse, 4, {
      groupId: "g",
      generationId: 1,
      memberId: "m",
    })).errorCode,
    ErrorCode.GROUP_AUTHORIZATION_FAILED,
  );
  assertEquals(
    (await h.client.request(LeaveGroupRequest, LeaveGroupResponse, 5, {
      groupId: "g",
      members: [{ memberId: "m", groupInstanceId: null, reason: null }],
    })).errorCode,
    ErrorCode.GROUP_AUTHORIZATION_FAILED,
  );
  // KIP-848: READ on the group to heartbeat, DESCRIBE to describe
  const cgHeartbeat = () =>
    h.client.request(ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, 1, {
      groupId: "g",
      memberId: "m",
      memberEpoch: 0,
      rebalanceTimeoutMs: 30000,
      subscribedTopicNames: ["t"],
      topicPartitions: [],
    });
  assertEquals((await cgHeartbeat()).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  const cgDescribe = await h.client.request(
    ConsumerGroupDescribeRequest,
    ConsumerGroupDescribeResponse,
    0,
    { groupIds: ["g"] },
  );
  assertEquals(cgDescribe.groups[0].errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);

  // READ on the group, not on the topic: TOPIC_AUTHORIZATION_FAILED, still nothing committed
  await grant(h.broker, allow(RT.GROUP, "g", Op.READ));
  assertEquals(
    (await commit()).topics[0].partitions[0].errorCode,
    ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  );
  const f1 = await fetchOffsets();
  assertEquals([f1.errorCode, f1.topics[0].partitions[0].errorCode], [
    0,
    ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  ]);
  // READ on the group lets a consumer-protocol member join (Kafka 3.9 checks no topic)
  const joined = await cgHeartbeat();
  assertEquals([joined.errorCode, joined.memberEpoch], [0, 1]);
  await h.client.request(ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, 1, {
    groupId: "g",
    memberId: "m",
    memberEpoch: -1,
  });
  await grant(h.broker, allow(RT.TOPIC, "t", Op.READ));
  assertEquals((await commit()).topics[0].partitions[0].errorCode, 0);
  const f2 = await fetchOffsets();
  assertEquals([f2.errorCode, f2.topics[0].partitions[0].committedOffset], [0, 5]);

  // listing: groups one may not DESCRIBE are not listed; DescribeGroups refuses them
  await grant(h.broker, allow(RT.GROUP, "other", Op.ALL));
  await h.client.request(OffsetCommitRequest, OffsetCommitResponse, 8, {
    groupId: "other",
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [{
      name: "t",
      partitions: [{
        partitionIndex: 1,
        committedOffset: 0,
        committedLeaderEpoch: -1,
        committedMetadata: "",
        commitTimestamp: -1,
      }],
    }],
  });
  await revokeAcls(h.broker, RT.GROUP, "g", PatternType.LITERAL);
  const lg = await h.client.request(ListGroupsRequest, ListGroupsResponse, 4, { statesFilter: [] });
  assertEquals(lg.groups.map((g) => g.groupId), ["other"]);
  const dg = await h.client.request(DescribeGroupsRequest, DescribeGroupsResponse, 5, {
    groups: ["g", "other"],
    includeAuthorizedOperations: true,
  });
  assertEquals(dg.groups.map((g) => [g.groupId, g.errorCode, g.authorizedOperations]), [
    ["g", ErrorCode.GROUP_AUTHORIZATION_FAILED, -2147483648],
    ["other", 0, (1 << Op.READ) | (1 << Op.DESCRIBE) | (1 << Op.DELETE)],
  ]);
  await grant(h.broker, allow(RT.CLUSTER, "kafka-cluster", Op.DESCRIBE));
  const lg2 = await h.client.request(ListGroupsRequest, ListGroupsResponse, 4, {
    statesFilter: [],
  });
  assertEquals(lg2.groups.map((g) => g.groupId).sort(), ["g", "other"]);
  // deleting: DELETE on the group
  const od = await h.client.request(OffsetDeleteRequest, OffsetDeleteResponse, 0, {
    groupId: "g",
    topics: [{ name: "t", partitions: [{ partitionIndex: 0 }] }],
  });
  assertEquals(od.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  const del = await h.client.request(DeleteGroupsRequest, DeleteGroupsResponse, 2, {
    groupsNames: ["g", "other"],
  });
  assertEquals(del.results.map((r) => [r.groupId, r.errorCode]).sort(), [
    ["g", ErrorCode.GROUP_AUTHORIZATION_FAILED],
    ["other", 0],
  ]);
  await grant(h.broker, allow(RT.GROUP, "g", Op.DESCRIBE));
  const f3 = await fetchOffsets();
  assertEquals(f3.topics[0].partitions[0].committedOffset, 5);
});

Deno.test("ACLs: a consumer group's regex matches only the topics the member may DESCRIBE (Kafka 4.0)", async () => {
  await using h = await startAclBroker({ "rx-a": 1, "rx-b": 1, "rx-c": 1 });
  await grant(
    h.broker,
    allow(RT.GROUP, "g", Op.READ),
    allow(RT.TOPIC, "rx-a", Op.DESCRIBE),
    allow(RT.TOPIC, "rx-c", Op.READ), // READ implies DESCRIBE
  );
  const r = await h.client.request(
    ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse,
    1,
    {
      groupId: "g",
      memberId: "m",
      memberEpoch: 0,
      rebalanceTimeoutMs: 30000,
      subscribedTopicNames: [],
      subscribedTopicRegex: "rx-.*",
      topicPartitions: [],
    },
  );
  const names = new Map(Object.entries(h.topicIds).map(([n, id]) => [id, n]));
  assertEquals(
    [r.errorCode, r.assignment?.topicPartitions.map((t) => names.get(t.topicId)).sort()],
    [0, ["rx-a", "rx-c"]],
  );
});

Deno.test("ACLs: topic and config admin APIs refused; nothing created, deleted or changed", async () => {
  await using h = await aclBroker();
  const ct = await h.client.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
    topics: [{ name: "new", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  });
  assertEquals(ct.topics[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const md = await h.client.request(MetadataRequest, MetadataResponse, 12, { topics: null });
  assertEquals(md.topics.length, 0); // and nothing to describe either
  await grant(h.broker, allow(RT.TOPIC, "new", Op.CREATE));
  const ct2 = await h.client.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
    topics: [{ name: "new", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  });
  // created, but its configs are not shown without DESCRIBE_CONFIGS (KIP-525)
  assertEquals(
    [ct2.topics[0].errorCode, ct2.topics[0].topicConfigErrorCode, ct2.topics[0].configs],
    [
      0,
      ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      null,
    ],
  );

  const cp = await h.client.request(CreatePartitionsRequest, CreatePartitionsResponse, 3, {
    topics: [{ name: "t", count: 4, assignments: null }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assertEquals(cp.results[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const dr = await h.client.request(DeleteRecordsRequest, DeleteRecordsResponse, 2, {
    topics: [{ name: "t", partitions: [{ partitionIndex: 0, offset: 0 }] }],
    timeoutMs: 5000,
  });
  assertEquals(dr.topics[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const dt = await h.client.request(DeleteTopicsRequest, DeleteTopicsResponse, 5, {
    topicNames: ["t", "missing"],
    timeoutMs: 5000,
  });
  assertEquals(dt.responses.map((r) => [r.name, r.errorCode]), [
    ["t", ErrorCode.TOPIC_AUTHORIZATION_FAILED],
    ["missing", ErrorCode.TOPIC_AUTHORIZATION_FAILED],
  ]);
  const dcfg = await h.client.request(DescribeConfigsRequest, DescribeConfigsResponse, 4, {
    resources: [
      { resourceType: 2, resourceName: "t", configurationKeys: null },
      { resourceType: 4, resourceName: "1", configurationKeys: null },
    ],
  });
  assertEquals(dcfg.results.map((r) => [r.errorCode, r.configs.length]), [
    [ErrorCode.TOPIC_AUTHORIZATION_FAILED, 0],
    [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 0],
  ]);
  const ac = await h.client.request(AlterConfigsRequest, AlterConfigsResponse, 2, {
    resources: [
      { resourceType: 2, resourceName: "t", configs: [{ name: "retention.ms", value: "1000" }] },
      { resourceType: 4, resourceName: "", configs: [{ name: "log.retention.ms", value: "1000" }] },
    ],
    validateOnly: false,
  });
  assertEquals(ac.responses.map((r) => r.errorCode), [
    ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ]);
  const iac = await h.client.request(
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
    1,
    {
      resources: [{
        resourceType: 2,
        resourceName: "t",
        configs: [{ name: "retention.ms", configOperation: 0, value: "1000" }],
      }],
      validateOnly: false,
    },
  );
  assertEquals(iac.responses[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const ld = await h.client.request(DescribeLogDirsRequest, DescribeLogDirsResponse, 4, {
    topics: null,
  });
  assertEquals([ld.errorCode, ld.results.length], [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 0]);

  // nothing changed: "t" still has 2 partitions and no retention.ms override
  await grant(
    h.broker,
    allow(RT.TOPIC, "t", Op.DESCRIBE_CONFIGS),
    allow(RT.TOPIC, "t", Op.DESCRIBE),
  );
  const md2 = await h.client.request(MetadataRequest, MetadataResponse, 12, {
    topics: [{ name: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
    allowAutoTopicCreation: false,
  });
  assertEquals(md2.topics[0].partitions.length, 2);
  const dcfg2 = await h.client.request(DescribeConfigsRequest, DescribeConfigsResponse, 4, {
    resources: [{ resourceType: 2, resourceName: "t", configurationKeys: ["retention.ms"] }],
  });
  assertEquals([dcfg2.results[0].errorCode, dcfg2.results[0].configs[0].value], [0, "604800000"]);
  // ALTER_CONFIGS implies DESCRIBE_CONFIGS, ALTER allows CreatePartitions, DELETE DeleteRecords/Topics
  await grant(
    h.broker,
    allow(RT.TOPIC, "t", Op.ALTER_CONFIGS),
    allow(RT.TOPIC, "t", Op.ALTER),
    allow(RT.TOPIC, "t", Op.DELETE),
  );
  const iac2 = await h.client.request(
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
    1,
    {
      resources: [{
        resourceType: 2,
        resourceName: "t",
        configs: [{ name: "retention.ms", configOperation: 0, value: "1000" }],
      }],
      validateOnly: false,
    },
  );
  assertEquals(iac2.responses[0].errorCode, 0);
  const cp2 = await h.client.request(CreatePartitionsRequest, CreatePartitionsResponse, 3, {
    topics: [{ name: "t", count: 3, assignments: null }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assertEquals(cp2.results[0].errorCode, 0);
  const dt2 = await h.client.request(DeleteTopicsRequest, DeleteTopicsResponse, 5, {
    topicNames: ["t"],
    timeoutMs: 5000,
  });
  assertEquals(dt2.responses[0].errorCode, 0);
});

Deno.test("ACLs: transactional APIs refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, idempotent InitProducerId with CLUSTER_AUTHORIZATION_FAILED", async () => {
  await using h = await aclBroker();
  const init = (transactionalId: string | null) =>
    h.client.request(InitProducerIdRequest, InitProducerIdResponse, 4, {
      transactionalId,
      transactionTimeoutMs: 60000,
      producerId: -1,
      producerEpoch: -1,
    });
  assertEquals((await init("tx")).errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  assertEquals((await init(null)).errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  const fc = await h.client.request(FindCoordinatorRequest, FindCoordinatorResponse, 4, {
    keyType: 1,
    coordinatorKeys: ["tx"],
  });
  assertEquals(fc.coordinators[0].errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  // WRITE on some topic is enough for an idempotent producer (KIP-679)
  await grant(h.broker, allow(RT.TOPIC, "t", Op.WRITE));
  const idem = await init(null);
  assertEquals([idem.errorCode, idem.producerId >= 0], [0, true]);
  // a transactional batch needs WRITE on its transactional id, even with WRITE on the topic
  const txBatch = buildBatch({
    records: [{ key: "k", value: "v" }],
    attributes: TRANSACTIONAL,
    producerId: idem.producerId,
    producerEpoch: 0,
    baseSequence: 0,
  });
  const p = await h.client.request(ProduceRequest, ProduceResponse, 9, {
    ...produceBody("t", 0, txBatch),
    transactionalId: "tx",
  });
  assertEquals(
    p.responses[0].partitionResponses[0].errorCode,
    ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  );

  const apt = await h.client.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 3, {
    v3AndBelowTransactionalId: "tx",
    v3AndBelowProducerId: 0,
    v3AndBelowProducerEpoch: 0,
    v3AndBelowTopics: [{ name: "t", partitions: [0] }],
  });
  assertEquals(
    apt.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode,
    ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  );
  const aot = await h.client.request(AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, 3, {
    transactionalId: "tx",
    producerId: 0,
    producerEpoch: 0,
    groupId: "g",
  });
  assertEquals(aot.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  const end = await h.client.request(EndTxnRequest, EndTxnResponse, 3, {
    transactionalId: "tx",
    producerId: 0,
    producerEpoch: 0,
    committed: true,
  });
  assertEquals(end.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  const toc = await h.client.request(TxnOffsetCommitRequest, TxnOffsetCommitResponse, 3, {
    transactionalId: "tx",
    groupId: "g",
    producerId: 0,
    producerEpoch: 0,
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [{
      name: "t",
      partitions: [{
        partitionIndex: 0,
        committedOffset: 1,
        committedLeaderEpoch: -1,
        committedMetadata: "",
      }],
    }],
  });
  assertEquals(
    toc.topics[0].partitions[0].errorCode,
    ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  );
  const dtx = await h.client.request(DescribeTransactionsRequest, DescribeTransactionsResponse, 0, {
    transactionalIds: ["tx"],
  });
  assertEquals(dtx.transactionStates[0].errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  const wtm = await h.client.request(WriteTxnMarkersRequest, WriteTxnMarkersResponse, 1, {
    markers: [{
      producerId: 0,
      producerEpoch: 0,
      transactionResult: true,
      coordinatorEpoch: 0,
      topics: [{ name: "t", partitionIndexes: [0] }],
    }],
  });
  assertEquals(
    wtm.markers[0].topics[0].partitions[0].errorCode,
    ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  );

  // with WRITE on the transactional id: a transaction runs; the group and topic checks follow
  await grant(h.broker, allow(RT.TRANSACTIONAL_ID, "tx", Op.WRITE));
  const tx = await init("tx");
  assertEquals(tx.errorCode, 0);
  const apt2 = await h.client.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 3, {
    v3AndBelowTransactionalId: "tx",
    v3AndBelowProducerId: tx.producerId,
    v3AndBelowProducerEpoch: tx.producerEpoch,
    v3AndBelowTopics: [{ name: "t", partitions: [0] }, { name: "secret", partitions: [0] }],
  });
  assertEquals(
    apt2.resultsByTopicV3AndBelow.map((t) => [t.name, t.resultsByPartition[0].partitionErrorCode]),
    [
      ["t", ErrorCode.OPERATION_NOT_ATTEMPTED],
      ["secret", ErrorCode.TOPIC_AUTHORIZATION_FAILED],
    ],
  );
  const aot2 = await h.client.request(AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, 3, {
    transactionalId: "tx",
    producerId: tx.producerId,
    producerEpoch: tx.producerEpoch,
    groupId: "g",
  });
  assertEquals(aot2.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  const lt = await h.client.request(ListTransactionsRequest, ListTransactionsResponse, 1, {
    stateFilters: [],
    producerIdFilters: [],
    durationFilter: -1,
  });
  assertEquals(lt.transactionStates.map((s) => s.transactionalId), ["tx"]); // WRITE implies DESCRIBE
  const dtx2 = await h.client.request(
    DescribeTransactionsRequest,
    DescribeTransactionsResponse,
    0,
    {
      transactionalIds: ["tx"],
    },
  );
  assertEquals(dtx2.transactionStates[0].errorCode, 0);
});

Deno.test("ACLs: ElectLeaders, partition reassignments and broker-to-broker AddPartitionsToTxn need the cluster", async () => {
  await using h = await aclBroker();
  // Each request is sent refused, then again allowed.
  const elect = () =>
    h.client.request(ElectLeadersRequest, ElectLeadersResponse, 2, {
      electionType: 0,
      topicPartitions: [{ topic: "t", partitions: [0] }],
      timeoutMs: 1000,
    });
  const listReassignments = () =>
    h.client.request(ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, 0, {
      timeoutMs: 1000,
      topics: null,
    });
  const verifyTxn = () =>
    h.client.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 4, {
      transactions: [{
        transactionalId: "tx",
        producerId: 1,
        producerEpoch: 0,
        verifyOnly: true,
        topics: [{ name: "t", partitions: [0] }],
      }],
    });
  const el = await elect();
  assertEquals(
    [el.errorCode, el.replicaElectionResults[0].partitionResult[0].errorCode],
    [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
  );
  const alter = await h.client.request(
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
    0,
    {
      timeoutMs: 1000,
      topics: [{ name: "t", partitions: [{ partitionIndex: 0, replicas: [7] }] }],
    },
  );
  assertEquals(alter.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  const list = await listReassignments();
  assertEquals(list.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  const verify = await verifyTxn();
  assertEquals(verify.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);

  // allowed: ALTER and DESCRIBE on the cluster, CLUSTER_ACTION for brokers
  await grant(
    h.broker,
    allow(RT.CLUSTER, "kafka-cluster", Op.ALTER),
    allow(RT.CLUSTER, "kafka-cluster", Op.CLUSTER_ACTION),
  );
  const el2 = await elect();
  assertEquals(
    [el2.errorCode, el2.replicaElectionResults[0].partitionResult[0].errorCode],
    [ErrorCode.NONE, ErrorCode.ELECTION_NOT_NEEDED],
  );
  const list2 = await listReassignments();
  assertEquals([list2.errorCode, list2.topics.length], [ErrorCode.NONE, 0]);
  const verify2 = await verifyTxn();
  assertEquals(verify2.errorCode, ErrorCode.NONE);
  assertEquals(verify2.resultsByTransaction[0].transactionalId, "tx");
});

Deno.test("ACLs: DescribeUserScramCredentials and AlterUserScramCredentials need the cluster; nothing stored", async () => {
  await using h = await aclBroker();
  const upsertion = {
    name: "alice",
    mechanism: 1, // SCRAM-SHA-256
    iterations: 4096,
    salt: new Uint8Array(16).fill(7),
    saltedPassword: new Uint8Array(32).fill(9),
  };
  // Each request is sent refused, then with DESCRIBE, then with ALTER too.
  const describe = () =>
    h.client.request(DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse, 0, {
      users: null,
    });
  const alter = () =>
    h.client.request(AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, 0, {
      deletions: [],
      upsertions: [upsertion],
    });
  const d = await describe();
  assertEquals([d.errorCode, d.results.length], [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 0]);
  const a = await alter();
  assertEquals(
    a.results.map((r) => [r.user, r.errorCode]),
    [["alice", ErrorCode.CLUSTER_AUTHORIZATION_FAILED]],
  );
  // DESCRIBE alone lets one see (no credential was stored), not alter
  await grant(h.broker, allow(RT.CLUSTER, "kafka-cluster", Op.DESCRIBE));
  const d2 = await describe();
  assertEquals([d2.errorCode, d2.results.length], [ErrorCode.NONE, 0]);
  const a2 = await alter();
  assertEquals(a2.results[0].errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  await assertRejectsStat(`${h.tb.dir}/${SCRAM_CREDENTIALS_FILE}`);

  // ALTER on the cluster: stored
  await grant(h.broker, allow(RT.CLUSTER, "kafka-cluster", Op.ALTER));
  const a3 = await alter();
  assertEquals(a3.results.map((r) => [r.user, r.errorCode]), [["alice", ErrorCode.NONE]]);
  const d3 = await describe();
  assertEquals(
    d3.results.map((r) => [r.user, r.credentialInfos.map((c) => c.iterations)]),
    [["alice", [4096]]],
  );
});

/** The file does not exist (nothing was ever written). */
async function assertRejectsStat(path: string): Promise<void> {
  try {
    await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  throw new Error(`${path} exists`);
}
