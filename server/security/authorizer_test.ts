// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import {
  type AclBinding,
  AclOperation as Op,
  AclPermissionType as Perm,
  filterMatches,
  PatternType,
  ResourceType as RT,
  validateBinding,
  validateFilter,
} from "./acl.ts";
import { AclAuthorizer, ACLS_FILE, type AuthorizationSubject, hostOf } from "./authorizer.ts";

const ALICE: AuthorizationSubject = {
  principal: { type: "User", name: "alice" },
  host: "10.0.0.1",
};
const BOB: AuthorizationSubject = { principal: { type: "User", name: "bob" }, host: "10.0.0.2" };

function acl(init: Partial<AclBinding>): AclBinding {
  return {
    resourceType: RT.TOPIC,
    resourceName: "orders",
    patternType: PatternType.LITERAL,
    principal: "User:alice",
    host: "*",
    operation: Op.READ,
    permissionType: Perm.ALLOW,
    ...init,
  };
}

async function withAuthorizer(
  acls: AclBinding[],
  options: { superUsers?: string[]; allowEveryoneIfNoAclFound?: boolean },
  fn: (a: AclAuthorizer, dir: string) => Promise<void> | void,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-acl-test-" });
  try {
    const a = await AclAuthorizer.open(dir, options);
    await a.createAcls(acls);
    await fn(a, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("authorizer: no ACL denies by default, allow.everyone.if.no.acl.found allows", async () => {
  await withAuthorizer([], {}, (a) => {
    assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "orders"), false);
  });
  await withAuthorizer([], { allowEveryoneIfNoAclFound: true }, (a) => {
    assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "orders"), true);
  });
  // an ACL of anyone on the resource makes it "found": others are denied even with the flag
  await withAuthorizer(
    [acl({ principal: "User:bob" })],
    { allowEveryoneIfNoAclFound: true },
    (a) => {
      assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "orders"), false);
      assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "other"), true);
      assertEquals(a.authorize(BOB, Op.READ, RT.TOPIC, "orders"), true);
    },
  );
});

Deno.test("authorizer: principal, User:* wildcard, host exact or *", async () => {
  await withAuthorizer(
    [
      acl({}),
      acl({ resourceName: "everyone", principal: "User:*" }),
      acl({ resourceName: "from-host", host: "10.0.0.1" }),
    ],
    {},
    (a) => {
      assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "orders"), true);
      assertEquals(a.authorize(BOB, Op.READ, RT.TOPIC, "orders"), false);
      assertEquals(a.authorize(BOB, Op.READ, RT.TOPIC, "everyone"), true);
      assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "from-host"), true);
      assertEquals(
        a.authorize({ ...ALICE, host: "10.0.0.9" }, Op.READ, RT.TOPIC, "from-host"),
        false,
      );
      // resource types are apart: a TOPIC ACL says nothing of the GROUP "orders"
      assertEquals(a.authorize(ALICE, Op.READ, RT.GROUP, "orders"), false);
      // the principal type counts
      assertEquals(
        a.authorize(
          { principal: { type: "Group", name: "alice" }, host: "1.1.1.1" },
          Op.READ,
          RT.TOPIC,
          "orders",
        ),
        false,
      );
    },
  );
});

Deno.test("authorizer: LITERAL *, PREFIXED, literal names are exact", async () => {
  await withAuthorizer(
    [
      acl({ resourceName: "*", operation: Op.WRITE }),
      acl({ resourceName: "orders-", patternType: PatternType.PREFIXED }),
      acl({ resourceName: "o", patternType: PatternType.PREFIXED, operation: Op.DELETE }),
    ],
    {},
    (a) => {
      assertEquals(a.authorize(ALICE, Op.WRITE, RT.TOPIC, "anything"), true);
      assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "orders-eu"), true);
      assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "orders-"), true);
      assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "orders"), false); // shorter than the prefix
      assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "xorders-eu"), false);
      assertEquals(a.authorize(ALICE, Op.DELETE, RT.TOPIC, "o"), true);
      assertEquals(a.authorize(ALICE, Op.DELETE, RT.TOPIC, "orders-eu"), true);
      assertEquals(a.authorize(ALICE, Op.DELETE, RT.TOPIC, "x"), false);
    },
  );
  // a literal name is not a prefix, and "*" as a PREFIXED pattern is only the character
  await withAuthorizer(
    [
      acl({ resourceName: "orders" }),
      acl({ resourceName: "*", patternType: PatternType.PREFIXED, operation: Op.WRITE }),
    ],
    {},
    (a) => {
      assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "orders2"), false);
      assertEquals(a.authorize(ALICE, Op.WRITE, RT.TOPIC, "orders"), false);
      assertEquals(a.authorize(ALICE, Op.WRITE, RT.TOPIC, "*x"), true);
    },
  );
});

Deno.test("authorizer: DENY wins over ALLOW, from any matching pattern", async () => {
  await withAuthorizer(
    [
      acl({ resourceName: "*", operation: Op.ALL }),
      acl({
        resourceName: "secret-",
        patternType: PatternType.PREFIXED,
        permissionType: Perm.DENY,
      }),
      acl({
        resourceName: "orders",
        operation: Op.WRITE,
        permissionType: Perm.DENY,
        host: "10.0.0.1",
      }),
    ],
    {},
    (a) => {
      assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "orders"), true);
      assertEquals(a.authorize(ALICE, Op.WRITE, RT.TOPIC, "orders"), false);
      assertEquals(a.authorize({ ...ALICE, host: "10.0.0.3" }, Op.WRITE, RT.TOPIC, "orders"), true);
      assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "secret-x"), false);
      // DENY READ does not deny DESCRIBE (denies are not implied), ALL covers DESCRIBE
      assertEquals(a.authorize(ALICE, Op.DESCRIBE, RT.TOPIC, "secret-x"), true);
    },
  );
  await withAuthorizer(
    [
      acl({ operation: Op.ALL }),
      acl({ principal: "User:*", operation: Op.ALL, permissionType: Perm.DENY }),
    ],
    {},
    (a) => {
      for (const op of [Op.READ, Op.WRITE, Op.DESCRIBE, Op.ALTER_CONFIGS]) {
        assertEquals(a.authorize(ALICE, op, RT.TOPIC, "orders"), false);
      }
    },
  );
});

Deno.test("authorizer: implied operations (DESCRIBE, DESCRIBE_CONFIGS) and ALL", async () => {
  const cases: [number, number[], number[]][] = [
    [Op.READ, [Op.READ, Op.DESCRIBE], [Op.WRITE, Op.DESCRIBE_CONFIGS, Op.DELETE]],
    [Op.WRITE, [Op.WRITE, Op.DESCRIBE], [Op.READ]],
    [Op.DELETE, [Op.DELETE, Op.DESCRIBE], [Op.READ]],
    [Op.ALTER, [Op.ALTER, Op.DESCRIBE], [Op.ALTER_CONFIGS, Op.DESCRIBE_CONFIGS]],
    [Op.ALTER_CONFIGS, [Op.ALTER_CONFIGS, Op.DESCRIBE_CONFIGS], [Op.DESCRIBE, Op.ALTER]],
    [Op.DESCRIBE, [Op.DESCRIBE], [Op.READ, Op.DESCRIBE_CONFIGS]],
    [
      Op.ALL,
      [Op.READ, Op.WRITE, Op.CREATE, Op.DELETE, Op.ALTER, Op.DESCRIBE, Op.ALTER_CONFIGS],
      [],
    ],
  ];
  for (const [granted, yes, no] of cases) {
    await withAuthorizer([acl({ operation: granted })], {}, (a) => {
      for (const op of yes) {
        assertEquals([granted, op, a.authorize(ALICE, op, RT.TOPIC, "orders")], [
          granted,
          op,
          true,
        ]);
      }
      for (const op of no) {
        assertEquals([granted, op, a.authorize(ALICE, op, RT.TOPIC, "orders")], [
          granted,
          op,
          false,
        ]);
      }
    });
  }
});

Deno.test("authorizer: super.users may do everything, DENY or not", async () => {
  await withAuthorizer(
    [
      acl({ principal: "User:*", operation: Op.ALL, permissionType: Perm.DENY }),
    ],
    { superUsers: ["User:alice"] },
    (a) => {
      assertEquals(a.authorize(ALICE, Op.WRITE, RT.TOPIC, "orders"), true);
      assertEquals(a.authorize(ALICE, Op.ALTER, RT.CLUSTER, "kafka-cluster"), true);
      assertEquals(a.authorize(BOB, Op.WRITE, RT.TOPIC, "orders"), false);
    },
  );
});

Deno.test("authorizer: authorizeByResourceType (KIP-679)", async () => {
  await withAuthorizer([acl({ operation: Op.WRITE })], {}, (a) => {
    assertEquals(a.authorizeByResourceType(ALICE, Op.WRITE, RT.TOPIC), true);
    assertEquals(a.authorizeByResourceType(BOB, Op.WRITE, RT.TOPIC), false);
    assertEquals(a.authorizeByResourceType(ALICE, Op.READ, RT.TOPIC), false);
  });
  await withAuthorizer(
    [
      acl({ resourceName: "orders-eu", operation: Op.WRITE }),
      acl({
        resourceName: "orders-",
        patternType: PatternType.PREFIXED,
        operation: Op.WRITE,
        permissionType: Perm.DENY,
      }),
    ],
    {},
    (a) => assertEquals(a.authorizeByResourceType(ALICE, Op.WRITE, RT.TOPIC), false),
  );
  await withAuthorizer(
    [
      acl({ operation: Op.WRITE }),
      acl({ resourceName: "*", operation: Op.WRITE, permissionType: Perm.DENY }),
    ],
    {},
    (a) => assertEquals(a.authorizeByResourceType(ALICE, Op.WRITE, RT.TOPIC), false),
  );
});

Deno.test("authorizer: ACLs survive a reopen; create is idempotent; delete by filter", async () => {
  await withAuthorizer([acl({}), acl({})], {}, async (a, dir) => {
    assertEquals(a.size, 1);
    await a.createAcls([acl({ resourceName: "p-", patternType: PatternType.PREFIXED })]);
    const again = await AclAuthorizer.open(dir);
    assertEquals(again.size, 2);
    assertEquals(again.authorize(ALICE, Op.READ, RT.TOPIC, "p-1"), true);
    const removed = await again.deleteAcls([{
      resourceType: RT.ANY,
      resourceName: null,
      patternType: PatternType.PREFIXED,
      principal: null,
      host: null,
      operation: Op.ANY,
      permissionType: Perm.ANY,
    }]);
    assertEquals(removed[0].map((b) => b.resourceName), ["p-"]);
    assertEquals(again.authorize(ALICE, Op.READ, RT.TOPIC, "p-1"), false);
    assertEquals((await AclAuthorizer.open(dir)).size, 1);
  });
});

Deno.test("authorizer: a damaged ACL file refuses to open (no silent loss of ACLs)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-acl-test-" });
  try {
    await Deno.writeTextFile(`${dir}/${ACLS_FILE}`, "{ not json");
    await rejects(AclAuthorizer.open(dir), /cannot read ACLs from/);
    await Deno.writeTextFile(
      `${dir}/${ACLS_FILE}`,
      JSON.stringify({ version: 1, acls: [{ ...acl({}), operation: 1 }] }),
    );
    await rejects(AclAuthorizer.open(dir), /Invalid operation ANY/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acl: filters as Kafka's AclBindingFilter.matches", () => {
  const any = {
    resourceType: RT.ANY,
    resourceName: null,
    patternType: PatternType.ANY,
    principal: null,
    host: null,
    operation: Op.ANY,
    permissionType: Perm.ANY,
  };
  const lit = acl({});
  const wild = acl({ resourceName: "*" });
  const pre = acl({ resourceName: "ord", patternType: PatternType.PREFIXED });
  assertEquals([lit, wild, pre].map((b) => filterMatches(any, b)), [true, true, true]);
  const match = {
    ...any,
    resourceType: RT.TOPIC,
    resourceName: "orders",
    patternType: PatternType.MATCH,
  };
  assertEquals([lit, wild, pre].map((b) => filterMatches(match, b)), [true, true, true]);
  const byName = { ...any, resourceName: "orders" };
  assertEquals([lit, wild, pre].map((b) => filterMatches(byName, b)), [true, false, false]);
  const prefixed = { ...any, patternType: PatternType.PREFIXED };
  assertEquals([lit, wild, pre].map((b) => filterMatches(prefixed, b)), [false, false, true]);
  assertEquals(filterMatches({ ...any, principal: "User:bob" }, lit), false);
  assertEquals(filterMatches({ ...any, operation: Op.WRITE }, lit), false);
  assertEquals(filterMatches({ ...any, permissionType: Perm.DENY }, lit), false);
  assertEquals(validateFilter({ ...any, operation: Op.UNKNOWN }) !== null, true);
  assertEquals(validateFilter({ ...any, patternType: 9 }) !== null, true);
  assertEquals(validateFilter(any), null);
});

Deno.test("acl: validation of new bindings as Kafka's CreateAcls", () => {
  assertEquals(validateBinding(acl({})), null);
  assertEquals(
    validateBinding(acl({ patternType: PatternType.MATCH })),
    "Invalid patternType MATCH",
  );
  assertEquals(validateBinding(acl({ resourceType: RT.ANY })), "Invalid resourceType ANY");
  assertEquals(validateBinding(acl({ operation: Op.ANY })), "Invalid operation ANY");
  assertEquals(validateBinding(acl({ permissionType: Perm.ANY })), "Invalid permissionType ANY");
  assertEquals(validateBinding(acl({ resourceName: "" })), "Resource name should not be empty");
  assertEquals(
    validateBinding(acl({ resourceType: RT.CLUSTER, resourceName: "c" })),
    "The only valid name for the CLUSTER resource is kafka-cluster",
  );
  assertEquals(validateBinding(acl({ principal: "alice" }))?.startsWith("Could not parse"), true);
});

Deno.test("authorizer: hostOf strips the port (IPv4 and IPv6)", () => {
  assertEquals(hostOf("127.0.0.1:9092"), "127.0.0.1");
  assertEquals(hostOf("::1:9092"), "::1");
  assertEquals(hostOf("[::1]:9092"), "::1");
});

Deno.test("authorizer: lookups probe only the prefix lengths in use (10,000 ACLs)", async () => {
  const acls: AclBinding[] = [];
  for (let i = 0; i < 10_000; i++) acls.push(acl({ resourceName: `topic-${i}` }));
  acls.push(acl({ resourceName: "pre-", patternType: PatternType.PREFIXED }));
  await withAuthorizer(acls, {}, (a) => {
    assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "topic-9999"), true);
    assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "topic-10000"), false);
    assertEquals(a.authorize(ALICE, Op.READ, RT.TOPIC, "pre-" + "x".repeat(30000)), true);
  });
});
