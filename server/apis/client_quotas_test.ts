// Copyright 2026 the Sluice authors. Apache-2.0 license.
// AlterClientQuotas / DescribeClientQuotas (KIP-546) against a real broker on a real port:
// round trips with every filter kind, strict and not, validate_only, removal, Kafka's error codes
// and messages for bad entities, keys and values, quotas surviving a restart, and the ACL checks
// (ALTER_CONFIGS / DESCRIBE_CONFIGS on the cluster).

import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { Admin, Client, KafkaError } from "../../client/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  type AlterClientQuotasResponse,
  createAlterClientQuotasRequest,
} from "../../protocol/messages/alter_client_quotas.ts";
import {
  createDescribeClientQuotasRequest,
  type DescribeClientQuotasResponse,
} from "../../protocol/messages/describe_client_quotas.ts";
import { startBroker } from "../../tests/harness.ts";
import { type BrokerContext, MAX_ERROR_MESSAGE_LENGTH, type RequestContext } from "../api.ts";
import { createLogger } from "../logger.ts";
import { ClientQuotaManager, ClientQuotaStore } from "../quotas.ts";
import { AclOperation, AclPermissionType, PatternType, ResourceType } from "../security/acl.ts";
import { AclAuthorizer } from "../security/authorizer.ts";
import { alterClientQuotas } from "./alter_client_quotas.ts";
import { describeClientQuotas } from "./describe_client_quotas.ts";

const P = "producer_byte_rate";
const C = "consumer_byte_rate";

/** Sorted, for comparison. */
function keys(entries: { entity: Record<string, string | null> }[]): string[] {
  return entries.map((e) =>
    Object.entries(e.entity).map(([t, n]) => `${t}=${n ?? "<default>"}`).join(",")
  ).sort();
}

Deno.test({
  name: "client quotas: alter and describe with every filter kind, then after a restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const b = await startBroker();
    let client = new Client({ bootstrapServers: b.bootstrap });
    try {
      let admin = new Admin(client);
      const results = await admin.alterClientQuotas([
        { entity: { user: "alice" }, ops: { [P]: 1024 } },
        { entity: { user: "alice", "client-id": "app" }, ops: { [P]: 2048, [C]: 4096 } },
        { entity: { user: "alice", "client-id": null }, ops: { [C]: 10 } },
        { entity: { user: null }, ops: { request_percentage: 12.5 } },
        { entity: { "client-id": "app" }, ops: { [C]: 300 } },
        { entity: { "client-id": null }, ops: { [P]: 500 } },
      ]);
      assertEquals(results.map((r) => r.errorCode), [0, 0, 0, 0, 0, 0]);
      // no filter, not strict: everything
      assertEquals(keys(await admin.describeClientQuotas([])), [
        "client-id=<default>",
        "client-id=app",
        "user=<default>",
        "user=alice",
        "user=alice,client-id=<default>",
        "user=alice,client-id=app",
      ]);
      // no filter, strict: nothing (every entity has some type)
      assertEquals(await admin.describeClientQuotas([], true), []);
      // exact
      const exact = await admin.describeClientQuotas([
        { entityType: "user", match: "exact", name: "alice" },
      ]);
      assertEquals(keys(exact), [
        "user=alice",
        "user=alice,client-id=<default>",
        "user=alice,client-id=app",
      ]);
      assertEquals(
        (await admin.describeClientQuotas([
          { entityType: "user", match: "exact", name: "alice" },
        ], true)).map((e) => e.values),
        [{ [P]: 1024 }],
      );
      assertEquals(
        (await admin.describeClientQuotas([
          { entityType: "user", match: "exact", name: "alice" },
          { entityType: "client-id", match: "exact", name: "app" },
        ], true)).map((e) => e.values),
        [{ [C]: 4096, [P]: 2048 }],
      );
      // default
      assertEquals(
        keys(await admin.describeClientQuotas([{ entityType: "client-id", match: "default" }])),
        ["client-id=<default>", "user=alice,client-id=<default>"],
      );
      assertEquals(
        keys(
          await admin.describeClientQuotas([{ entityType: "client-id", match: "default" }], true),
        ),
        ["client-id=<default>"],
      );
      assertEquals(
        keys(await admin.describeClientQuotas([{ entityType: "user", match: "default" }], true)),
        ["user=<default>"],
      );
      // any: every entity with that type, named or default
      assertEquals(
        keys(await admin.describeClientQuotas([{ entityType: "user", match: "any" }], true)),
        ["user=<default>", "user=alice"],
      );
      assertEquals(
        keys(
          await admin.describeClientQuotas([
            { entityType: "user", match: "any" },
            { entityType: "client-id", match: "any" },
          ]),
        ),
        ["user=alice,client-id=<default>", "user=alice,client-id=app"],
      );
      // nothing matches a name never set
      assertEquals(
        await admin.describeClientQuotas([{ entityType: "user", match: "exact", name: "bob" }]),
        [],
      );

      // validate_only stores nothing; remove drops a key, the last key drops the entity
      assertEquals(
        (await admin.alterClientQuotas([{ entity: { user: "bob" }, ops: { [P]: 1 } }], true))
          .map((r) => r.errorCode),
        [0],
      );
      assertEquals(
        await admin.describeClientQuotas([{ entityType: "user", match: "exact", name: "bob" }]),
        [],
      );
      await admin.alterClientQuotas([
        {
          entity: { user: "alice", "client-id": "app" },
          ops: { [P]: null, bogus_but_removed: null },
        },
        { entity: { "client-id": "app" }, ops: { [C]: null } },
      ]);
      assertEquals(
        (await admin.describeClientQuotas([
          { entityType: "user", match: "exact", name: "alice" },
          { entityType: "client-id", match: "exact", name: "app" },
        ], true)).map((e) => e.values),
        [{ [C]: 4096 }],
      );
      assertEquals(
        await admin.describeClientQuotas([
          { entityType: "client-id", match: "exact", name: "app" },
        ], true),
        [],
      );

      // the broker resolves what it enforces from the same store
      const store = b.broker.quotas.store;
      assertEquals(store.resolve(C, "alice", "app")?.bound, 4096);
      assertEquals(store.resolve(P, "alice", "app")?.bound, 1024);
      assertEquals(store.resolve(P, "ANONYMOUS", "x")?.bound, 500);

      // durable: the same answers after a restart
      const before = await admin.describeClientQuotas([]);
      client.close();
      await b.restart();
      client = new Client({ bootstrapServers: b.bootstrap });
      admin = new Admin(client);
      assertEquals(await admin.describeClientQuotas([]), before);
      assertEquals(b.broker.quotas.store.resolve(P, "ANONYMOUS", "x")?.bound, 500);
    } finally {
      client.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "client quotas: bad entities, keys and values get INVALID_REQUEST with Kafka's message",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const b = await startBroker();
    const client = new Client({ bootstrapServers: b.bootstrap });
    try {
      const admin = new Admin(client);
      const r = await admin.alterClientQuotas([
        { entity: { user: "a" }, ops: { bogus: 1 } },
        { entity: { user: "a" }, ops: { [P]: 1.5 } },
        { entity: { user: "a" }, ops: { [C]: 0 } },
        { entity: { user: "a" }, ops: { request_percentage: -3 } },
        { entity: {}, ops: { [P]: 1 } },
        { entity: { group: "g" }, ops: { [P]: 1 } },
        { entity: { ip: "1.2.3.4", "client-id": "x" }, ops: { connection_creation_rate: 1 } },
        { entity: { user: "ok" }, ops: { [P]: 7 } },
      ]);
      assertEquals(r, [
        { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Invalid configuration key bogus" },
        {
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: "Configuration producer_byte_rate must be a Long value",
        },
        {
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: "Quota consumer_byte_rate must be greater than 0",
        },
        {
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: "Quota request_percentage must be greater than 0",
        },
        { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Invalid empty client quota entity" },
        {
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: "Unhandled client quota entity type: group",
        },
        {
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: "Invalid quota entity combination, IP entity shouldnot be combined with " +
            "User or ClientId",
        },
        { errorCode: 0, errorMessage: null },
      ]);
      // only the valid entry was stored
      assertEquals(keys(await admin.describeClientQuotas([])), ["user=ok"]);
      // a message quoting 32,760 bytes of input is cut, so the answer can be encoded (the
      // fuzzer's bitflip of an entity type made one 32,803 bytes long: no answer at all)
      const long = "g".repeat(32_760);
      const [cut] = await admin.alterClientQuotas([{ entity: { [long]: "x" }, ops: { [P]: 1 } }]);
      assertEquals(cut.errorCode, ErrorCode.INVALID_REQUEST);
      assertEquals(cut.errorMessage?.length, MAX_ERROR_MESSAGE_LENGTH);
      assertEquals(cut.errorMessage?.startsWith("Unhandled client quota entity type: ggg"), true);
      await rejects(
        admin.describeClientQuotas([
          { entityType: long, match: "any" },
          { entityType: long, match: "default" },
        ]),
        (e) =>
          e instanceof KafkaError && e.code === ErrorCode.INVALID_REQUEST &&
          e.message.includes("Duplicate ggg"),
      );
      // a user named twice in one entity (raw request: the admin client takes a record)
      const raw = await alterRaw(memoryBroker(), {
        entity: [{ entityType: "user", entityName: "a" }, { entityType: "user", entityName: "b" }],
      });
      assertEquals(raw.entries[0].errorCode, ErrorCode.INVALID_REQUEST);
      assertEquals(raw.entries[0].errorMessage, "Duplicate user field in client quota entity");
      // a filter naming a type twice, and an unknown match type
      await rejects(
        admin.describeClientQuotas([
          { entityType: "user", match: "any" },
          { entityType: "user", match: "default" },
        ]),
        (e) =>
          e instanceof KafkaError && e.code === ErrorCode.INVALID_REQUEST &&
          e.message.includes("Duplicate user filter component entity type"),
      );
      let bad: KafkaError | undefined;
      try {
        await describeClientQuotas.handle(
          ctxOf(memoryBroker()),
          createDescribeClientQuotasRequest({
            components: [{ entityType: "user", matchType: 7, match: null }],
          }),
        );
      } catch (e) {
        bad = e as KafkaError;
      }
      assertEquals([bad?.code, bad?.message.startsWith("Unexpected match type: 7:")], [
        ErrorCode.INVALID_REQUEST,
        true,
      ]);
    } finally {
      client.close();
      await b.close();
    }
  },
});

function memoryBroker(): BrokerContext {
  return {
    quotas: new ClientQuotaManager(ClientQuotaStore.openMemory()),
    logger: createLogger({ level: "error" }),
  } as unknown as BrokerContext;
}

function ctxOf(broker: BrokerContext, principal?: { type: string; name: string }): RequestContext {
  return {
    broker,
    version: 1,
    correlationId: 1,
    clientId: "t",
    connection: { id: 1, remote: "127.0.0.1:1", principal },
  };
}

async function alterRaw(
  broker: BrokerContext,
  entry: { entity: { entityType: string; entityName: string | null }[] },
): Promise<AlterClientQuotasResponse> {
  return await alterClientQuotas.handle(
    ctxOf(broker),
    createAlterClientQuotasRequest({
      entries: [{ entity: entry.entity, ops: [{ key: P, value: 1, remove: false }] }],
    }),
  ) as AlterClientQuotasResponse;
}

Deno.test("client quotas: ALTER_CONFIGS / DESCRIBE_CONFIGS on the cluster, as Kafka", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const authorizer = await AclAuthorizer.open(dir, { superUsers: [] });
    const allow = (principal: string, operation: number) => ({
      resourceType: ResourceType.CLUSTER,
      resourceName: "kafka-cluster",
      patternType: PatternType.LITERAL,
      principal,
      host: "*",
      operation,
      permissionType: AclPermissionType.ALLOW,
    });
    await authorizer.createAcls([
      allow("User:admin", AclOperation.ALTER_CONFIGS),
      allow("User:reader", AclOperation.DESCRIBE_CONFIGS),
    ]);
    const store = ClientQuotaStore.openMemory();
    const broker = {
      authorizer,
      quotas: new ClientQuotaManager(store),
      logger: createLogger({ level: "error" }),
    } as unknown as BrokerContext;
    const alter = async (name: string) =>
      (await alterClientQuotas.handle(
        ctxOf(broker, { type: "User", name }),
        createAlterClientQuotasRequest({
          entries: [{
            entity: [{ entityType: "user", entityName: "x" }],
            ops: [{ key: P, value: 5, remove: false }],
          }],
        }),
      ) as AlterClientQuotasResponse).entries[0].errorCode;
    const describe = async (name: string) => {
      try {
        const r = await describeClientQuotas.handle(
          ctxOf(broker, { type: "User", name }),
          createDescribeClientQuotasRequest({}),
        ) as DescribeClientQuotasResponse;
        return r.entries?.length;
      } catch (e) {
        return (e as KafkaError).code;
      }
    };
    assertEquals(
      await alter("reader").catch((e) => e.code),
      ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    );
    assertEquals(store.empty, true);
    assertEquals(await alter("admin"), 0);
    // ALTER_CONFIGS implies DESCRIBE_CONFIGS (Kafka's implied operations)
    assertEquals(await describe("admin"), 1);
    assertEquals(await describe("nobody"), ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assertEquals(await describe("reader"), 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
