// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { APIS } from "../apis/mod.ts";
import { ACCESS } from "./access.ts";
import { LogManager } from "../../engine/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  createOffsetCommitRequest,
  type OffsetCommitResponse,
} from "../../protocol/messages/offset_commit.ts";
import type { BrokerContext, RequestContext } from "../api.ts";
import { offsetCommit } from "../apis/offset_commit.ts";
import { openGroupCoordinator } from "../group/mod.ts";
import { createLogger } from "../logger.ts";
import { AclOperation, AclPermissionType, PatternType, ResourceType } from "./acl.ts";
import { AclAuthorizer } from "./authorizer.ts";
import type { KafkaPrincipal } from "./principal.ts";

Deno.test("access: every served API says what it checks (an empty entry: nothing)", () => {
  const missing = APIS.map((a) => a.name).filter((n) => !(n in ACCESS));
  assertEquals(missing, []);
  const stale = Object.keys(ACCESS).filter((n) => !APIS.some((a) => a.name === n));
  assertEquals(stale, []);
});

Deno.test("access: the connection's principal and host decide (handlers called directly)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-access-test-" });
  const logs = await LogManager.open(dir);
  const groups = await openGroupCoordinator(logs, {
    offsetsTopicNumPartitions: 1,
    config: { initialRebalanceDelayMs: 0 },
  });
  try {
    await logs.createTopic("t", 1);
    const authorizer = await AclAuthorizer.open(dir, { superUsers: ["User:root"] });
    const allow = (
      principal: string,
      type: number,
      name: string,
      operation: number,
      host = "*",
    ) => ({
      resourceType: type,
      resourceName: name,
      patternType: PatternType.LITERAL,
      principal,
      host,
      operation,
      permissionType: AclPermissionType.ALLOW,
    });
    await authorizer.createAcls([
      allow("User:alice", ResourceType.GROUP, "g", AclOperation.READ, "10.0.0.1"),
      allow("User:alice", ResourceType.TOPIC, "t", AclOperation.READ),
    ]);
    const broker = {
      logs,
      groups,
      authorizer,
      logger: createLogger({ level: "error" }),
    } as unknown as BrokerContext;
    const commit = async (principal: KafkaPrincipal | undefined, remote: string) => {
      const ctx: RequestContext = {
        broker,
        version: 8,
        correlationId: 1,
        clientId: "c",
        connection: { id: 1, remote, principal },
      };
      const res = await offsetCommit.handle(
        ctx,
        createOffsetCommitRequest({
          groupId: "g",
          generationIdOrMemberEpoch: -1,
          memberId: "",
          topics: [{
            name: "t",
            partitions: [{
              partitionIndex: 0,
              committedOffset: 3,
              committedLeaderEpoch: -1,
              commitTimestamp: -1,
              committedMetadata: "",
            }],
          }],
        }),
      ) as OffsetCommitResponse;
      return res.topics[0].partitions[0].errorCode;
    };
    const alice = { type: "User", name: "alice" };
    assertEquals(await commit(undefined, "10.0.0.1:5000"), ErrorCode.GROUP_AUTHORIZATION_FAILED);
    assertEquals(
      await commit({ type: "User", name: "bob" }, "10.0.0.1:5000"),
      ErrorCode.GROUP_AUTHORIZATION_FAILED,
    );
    assertEquals(await commit(alice, "10.0.0.2:5000"), ErrorCode.GROUP_AUTHORIZATION_FAILED);
    assertEquals(groups.fetchOffsets("g", null).topics, []);
    assertEquals(await commit(alice, "10.0.0.1:5000"), 0);
    assertEquals(await commit({ type: "User", name: "root" }, "10.9.9.9:1"), 0);
    assertEquals(groups.fetchOffsets("g", null).topics[0].partitions[0].offset, 3);
  } finally {
    groups.close();
    await logs.close();
    await Deno.remove(dir, { recursive: true });
  }
});
