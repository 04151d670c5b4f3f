// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { CreateAclsRequest, CreateAclsResponse } from "../../protocol/messages/create_acls.ts";
import {
  DescribeAclsRequest,
  DescribeAclsResponse,
} from "../../protocol/messages/describe_acls.ts";
import { DeleteAclsRequest, DeleteAclsResponse } from "../../protocol/messages/delete_acls.ts";
import { Broker } from "../broker.ts";
import {
  AclOperation as Op,
  AclPermissionType as Perm,
  PatternType,
  ResourceType as RT,
} from "../security/acl.ts";
import { ACLS_FILE } from "../security/authorizer.ts";
import { RawClient, startTestBroker } from "../testing.ts";

const creation = (init: Partial<CreateAclsRequest["creations"][number]> = {}) => ({
  resourceType: RT.TOPIC,
  resourceName: "orders",
  resourcePatternType: PatternType.LITERAL,
  principal: "User:alice",
  host: "*",
  operation: Op.READ,
  permissionType: Perm.ALLOW,
  ...init,
});

const ANY_FILTER = {
  resourceTypeFilter: RT.ANY,
  resourceNameFilter: null,
  patternTypeFilter: PatternType.ANY,
  principalFilter: null,
  hostFilter: null,
  operation: Op.ANY,
  permissionType: Perm.ANY,
};

Deno.test("ACL APIs without an authorizer: SECURITY_DISABLED", async () => {
  await using tb = await startTestBroker();
  const c = await RawClient.connect(tb.broker.port);
  try {
    const cr = await c.request(CreateAclsRequest, CreateAclsResponse, 3, {
      creations: [creation()],
    });
    assertEquals(cr.results.map((r) => [r.errorCode, r.errorMessage]), [[
      ErrorCode.SECURITY_DISABLED,
      "No Authorizer is configured.",
    ]]);
    const de = await c.request(DescribeAclsRequest, DescribeAclsResponse, 3, ANY_FILTER);
    assertEquals(de.errorCode, ErrorCode.SECURITY_DISABLED);
    const dl = await c.request(DeleteAclsRequest, DeleteAclsResponse, 3, { filters: [ANY_FILTER] });
    assertEquals(dl.filterResults[0].errorCode, ErrorCode.SECURITY_DISABLED);
  } finally {
    c.close();
  }
});

Deno.test("ACL APIs: CLUSTER_AUTHORIZATION_FAILED without ALTER/DESCRIBE on the cluster", async () => {
  await using tb = await startTestBroker({
    authorizerClassName: "kafka.security.authorizer.AclAuthorizer",
  });
  const c = await RawClient.connect(tb.broker.port);
  try {
    const cr = await c.request(CreateAclsRequest, CreateAclsResponse, 1, {
      creations: [creation()],
    });
    assertEquals(cr.results[0].errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assertEquals(tb.broker.authorizer!.size, 0);
    const de = await c.request(DescribeAclsRequest, DescribeAclsResponse, 1, ANY_FILTER);
    assertEquals(de.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const dl = await c.request(DeleteAclsRequest, DeleteAclsResponse, 1, { filters: [ANY_FILTER] });
    assertEquals(dl.filterResults[0].errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    // ALTER on the cluster allows Create/Delete and, implied, DescribeAcls
    await tb.broker.authorizer!.createAcls([{
      resourceType: RT.CLUSTER,
      resourceName: "kafka-cluster",
      patternType: PatternType.LITERAL,
      principal: "User:ANONYMOUS",
      host: "127.0.0.1",
      operation: Op.ALTER,
      permissionType: Perm.ALLOW,
    }]);
    const cr2 = await c.request(CreateAclsRequest, CreateAclsResponse, 1, {
      creations: [creation()],
    });
    assertEquals(cr2.results[0].errorCode, 0);
    const de2 = await c.request(DescribeAclsRequest, DescribeAclsResponse, 1, {
      ...ANY_FILTER,
      resourceTypeFilter: RT.TOPIC,
    });
    assertEquals([de2.errorCode, de2.resources.length], [0, 1]);
  } finally {
    c.close();
  }
});

Deno.test("ACL APIs: create, describe with filters, delete; Kafka's validation; kept across a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-acls-" });
  const config = {
    authorizerClassName: "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    superUsers: ["User:ANONYMOUS"],
    logDirs: [dir],
  };
  try {
    {
      // not disposed: that would remove the data directory
      const tb = await startTestBroker(config);
      const c = await RawClient.connect(tb.broker.port);
      try {
        const cr = await c.request(CreateAclsRequest, CreateAclsResponse, 3, {
          creations: [
            creation(),
            creation({
              resourceName: "orders-",
              resourcePatternType: PatternType.PREFIXED,
              operation: Op.WRITE,
            }),
            creation({
              resourceType: RT.GROUP,
              resourceName: "g",
              principal: "User:bob",
              permissionType: Perm.DENY,
            }),
            creation({ resourcePatternType: PatternType.MATCH }),
            creation({ resourceType: RT.ANY }),
            creation({ operation: Op.ANY }),
            creation({ permissionType: Perm.UNKNOWN }),
            creation({ resourceName: "" }),
            creation({ resourceType: RT.CLUSTER, resourceName: "other" }),
            creation({ principal: "alice" }),
          ],
        });
        assertEquals(cr.results.map((r) => r.errorCode), [
          0,
          0,
          0,
          ...Array(7).fill(ErrorCode.INVALID_REQUEST),
        ]);
        assertEquals(cr.results[3].errorMessage, "Invalid patternType MATCH");
        // v0 carries LITERAL patterns only
        const cr0 = await c.request(CreateAclsRequest, CreateAclsResponse, 0, {
          creations: [creation({ resourceName: "v0" })],
        });
        assertEquals(cr0.results[0].errorCode, 0);
        const all = await c.request(DescribeAclsRequest, DescribeAclsResponse, 3, ANY_FILTER);
        assertEquals(
          all.resources.map((r) => [r.resourceType, r.resourceName, r.patternType, r.acls.length]),
          [
            [RT.TOPIC, "orders", PatternType.LITERAL, 1],
            [RT.TOPIC, "orders-", PatternType.PREFIXED, 1],
            [RT.GROUP, "g", PatternType.LITERAL, 1],
            [RT.TOPIC, "v0", PatternType.LITERAL, 1],
          ],
        );
        const match = await c.request(DescribeAclsRequest, DescribeAclsResponse, 3, {
          ...ANY_FILTER,
          resourceTypeFilter: RT.TOPIC,
          resourceNameFilter: "orders-eu",
          patternTypeFilter: PatternType.MATCH,
        });
        assertEquals(match.resources.map((r) => r.resourceName), ["orders-"]);
        const bob = await c.request(DescribeAclsRequest, DescribeAclsResponse, 2, {
          ...ANY_FILTER,
          principalFilter: "User:bob",
        });
        assertEquals(bob.resources[0].acls, [{
          principal: "User:bob",
          host: "*",
          operation: Op.READ,
          permissionType: Perm.DENY,
        }]);
        const bad = await c.request(DescribeAclsRequest, DescribeAclsResponse, 3, {
          ...ANY_FILTER,
          operation: Op.UNKNOWN,
        });
        assertEquals(bad.errorCode, ErrorCode.INVALID_REQUEST);
        const dl = await c.request(DeleteAclsRequest, DeleteAclsResponse, 3, {
          filters: [
            { ...ANY_FILTER, resourceNameFilter: "v0" },
            { ...ANY_FILTER, patternTypeFilter: PatternType.UNKNOWN },
          ],
        });
        assertEquals(
          dl.filterResults.map((r) => [r.errorCode, r.matchingAcls.map((a) => a.resourceName)]),
          [
            [0, ["v0"]],
            [ErrorCode.INVALID_REQUEST, []],
          ],
        );
      } finally {
        c.close();
        await tb.broker.close();
      }
    }
    JSON.parse(await Deno.readTextFile(`${dir}/${ACLS_FILE}`));
    // a restart keeps them (and a broker without the authorizer keeps the file untouched)
    const again = await Broker.start({
      ...config,
      listeners: "PLAINTEXT://127.0.0.1:0",
      logLevel: "silent",
    });
    try {
      assertEquals(again.authorizer!.size, 3);
      const alice = { principal: { type: "User", name: "alice" }, host: "1.2.3.4" };
      assertEquals(again.authorizer!.authorize(alice, Op.WRITE, RT.TOPIC, "orders-x"), true);
      assertEquals(again.authorizer!.authorize(alice, Op.READ, RT.TOPIC, "v0"), false);
    } finally {
      await again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
