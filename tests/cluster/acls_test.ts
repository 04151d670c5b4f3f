// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Cluster mode keeps one set of ACLs in etcd: a change on any broker (or authorizer) reaches every
// other one through the watch; concurrent changes both survive (compare-and-swap); a broker
// started later loads them; the watch's late news of an authorizer's own earlier writes does not
// undo its later ones.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { CreateAclsRequest, CreateAclsResponse } from "../../protocol/messages/create_acls.ts";
import { EtcdClient, type Watch, type WatchOptions } from "../../server/cluster/etcd.ts";
import {
  type AclBinding,
  AclOperation,
  AclPermissionType,
  PatternType,
  ResourceType,
} from "../../server/security/acl.ts";
import { AclAuthorizer, EtcdAclStorage } from "../../server/security/authorizer.ts";
import { RawClient } from "../../server/testing.ts";
import { sharedEtcd, uniquePrefix } from "../etcd.ts";
import { clusterTest, startCluster, until } from "./harness.ts";

const etcd = sharedEtcd();

const test = clusterTest("cluster ACLs");

function acl(name: string, principal = "User:alice"): AclBinding {
  return {
    resourceType: ResourceType.TOPIC,
    resourceName: name,
    patternType: PatternType.LITERAL,
    principal,
    host: "*",
    operation: AclOperation.READ,
    permissionType: AclPermissionType.ALLOW,
  };
}

const ALICE = { principal: { type: "User", name: "alice" }, host: "127.0.0.1" };

test("authorizers on one etcd key see each other's changes; concurrent ones both survive", async () => {
  const e = await etcd();
  const key = `${uniquePrefix()}/acls`;
  const clients = [
    new EtcdClient({ endpoints: e.endpoints }),
    new EtcdClient({ endpoints: e.endpoints }),
  ];
  const [a, b] = await Promise.all(
    clients.map((c) => AclAuthorizer.openWith(new EtcdAclStorage(c, key))),
  );
  try {
    await a.createAcls([acl("one")]);
    await until(
      "b sees a's ACL",
      () => b.authorize(ALICE, AclOperation.READ, ResourceType.TOPIC, "one"),
      10_000,
    );
    // 20 concurrent changes from both sides: none is lost
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).createAcls([acl(`t${i}`)])),
    );
    await until("both have 21", () => a.size === 21 && b.size === 21, 10_000);
    const removed = await b.deleteAcls([{
      resourceType: ResourceType.TOPIC,
      resourceName: "one",
      patternType: PatternType.LITERAL,
      principal: null,
      host: null,
      operation: AclOperation.ANY,
      permissionType: AclPermissionType.ANY,
    }]);
    assertEquals(removed[0].length, 1);
    await until(
      "a sees the delete",
      () => !a.authorize(ALICE, AclOperation.READ, ResourceType.TOPIC, "one"),
      10_000,
    );
    const late = await AclAuthorizer.openWith(new EtcdAclStorage(clients[0], key));
    assertEquals(late.size, 20);
    late.close();
  } finally {
    a.close();
    b.close();
    for (const c of clients) c.close();
  }
});

/**
 * An etcd client whose watches hold every revision's events until `open()` (etcd's watch waits for
 * `onEvents`), then hand them on and call `delivered(revision)` once the owner has applied them.
 */
class HeldWatchEtcd extends EtcdClient {
  #gate = Promise.withResolvers<void>();
  delivered: (revision: number) => void = () => {};

  open(): void {
    this.#gate.resolve();
  }

  override watch(key: string, options: WatchOptions): Watch {
    return super.watch(key, {
      ...options,
      onEvents: async (events, revision) => {
        await this.#gate.promise;
        await options.onEvents(events, revision);
        this.delivered(revision);
      },
    });
  }
}

test("an authorizer's watch ignores events at or below its own last write; later ones from others apply", async () => {
  const e = await etcd();
  const key = `${uniquePrefix()}/acls`;
  const held = new HeldWatchEtcd({ endpoints: e.endpoints });
  const other = new EtcdClient({ endpoints: e.endpoints });
  const a = await AclAuthorizer.openWith(new EtcdAclStorage(held, key));
  const b = await AclAuthorizer.openWith(new EtcdAclStorage(other, key));
  const may = (name: string) => a.authorize(ALICE, AclOperation.READ, ResourceType.TOPIC, name);
  try {
    // Two writes of a's own (two revisions) while its watch holds their events.
    await a.createAcls([acl("one")]);
    await a.createAcls([acl("two")]);
    assertEquals([a.size, may("one"), may("two")], [2, true, true]);
    // The watch now delivers them late, the first one ({one}) before the second: a keeps
    // {one, two} after each (the first event is older than a's last write, the second is it).
    const seen: Array<[number, number, boolean]> = [];
    held.delivered = (revision) => seen.push([revision, a.size, may("two")]);
    held.open();
    await until("both own events delivered", () => seen.length === 2, 10_000);
    assertEquals(seen.map(([, size, two]) => [size, two]), [[2, true], [2, true]]);
    assertEquals(seen[1][0], seen[0][0] + 1);
    // A change by another authorizer (a later revision) applies.
    await b.createAcls([acl("three")]);
    await until("a sees b's ACL", () => seen.length === 3, 10_000);
    assertEquals(seen[2].slice(1), [3, true]);
    assertEquals([may("one"), may("two"), may("three")], [true, true, true]);
  } finally {
    a.close();
    b.close();
    held.close();
    other.close();
  }
});

test("CreateAcls on one broker applies on every broker", async () => {
  const e = await etcd();
  const c = await startCluster(e, 2, {
    authorizerClassName: "sluice.acl",
    superUsers: ["User:ANONYMOUS"],
  });
  try {
    const raw = await RawClient.connect(c.brokers[0]!.port);
    try {
      const r = await raw.request(CreateAclsRequest, CreateAclsResponse, 3, {
        creations: [{
          resourceType: ResourceType.TOPIC,
          resourceName: "orders",
          resourcePatternType: PatternType.PREFIXED,
          principal: "User:alice",
          host: "*",
          operation: AclOperation.WRITE,
          permissionType: AclPermissionType.ALLOW,
        }],
      });
      assertEquals(r.results[0].errorCode, ErrorCode.NONE);
    } finally {
      raw.close();
    }
    await until(
      "broker 2 has the ACL",
      () =>
        c.brokers[1]!.authorizer!.authorize(
          ALICE,
          AclOperation.WRITE,
          ResourceType.TOPIC,
          "orders-eu",
        ),
      10_000,
    );
    // a restarted broker loads them from etcd
    await c.stop(1);
    await c.start(1);
    assertEquals(c.brokers[1]!.authorizer!.size, 1);
  } finally {
    await c.close();
  }
});
