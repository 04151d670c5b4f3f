// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The ACL authorizer's lookup (server/security/authorizer.ts) with 10 and 10,000 ACLs: indexed by
// resource type, literal name and prefix length, against a scan of every ACL (the baseline),
// for a name with a literal ACL and one matched only by a prefix.
// Run: deno bench --allow-all bench/authorizer_bench.ts
import {
  type AclBinding,
  AclOperation,
  AclPermissionType,
  allowImplies,
  PatternType,
  ResourceType,
} from "../server/security/acl.ts";
import { AclAuthorizer } from "../server/security/authorizer.ts";

const SUBJECT = { principal: { type: "User", name: "alice" }, host: "10.0.0.1" };

function acls(n: number): AclBinding[] {
  const out: AclBinding[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      resourceType: i % 2 === 0 ? ResourceType.TOPIC : ResourceType.GROUP,
      resourceName: i % 10 === 9 ? `prefix-${i}-` : `topic-${i}`,
      patternType: i % 10 === 9 ? PatternType.PREFIXED : PatternType.LITERAL,
      principal: i % 3 === 0 ? "User:alice" : `User:u${i}`,
      host: "*",
      operation: AclOperation.READ,
      permissionType: AclPermissionType.ALLOW,
    });
  }
  return out;
}

/** The baseline: every ACL looked at for every request. */
function scan(all: AclBinding[], op: number, type: number, name: string): boolean {
  let allowed = false;
  for (const a of all) {
    if (a.resourceType !== type) continue;
    const applies = a.patternType === PatternType.PREFIXED
      ? name.startsWith(a.resourceName)
      : a.resourceName === name || a.resourceName === "*";
    if (!applies) continue;
    if (a.principal !== "User:alice" && a.principal !== "User:*") continue;
    if (a.permissionType === AclPermissionType.DENY && a.operation === op) return false;
    if (allowImplies(a.operation, op)) allowed = true;
  }
  return allowed;
}

for (const n of [10, 10_000]) {
  const list = acls(n);
  const dir = await Deno.makeTempDir({ prefix: "sluice-acl-bench-" });
  const auth = await AclAuthorizer.open(dir);
  await auth.createAcls(list);
  await Deno.remove(dir, { recursive: true });
  const literal = "topic-0";
  const prefixed = n > 10 ? "prefix-9999-x" : "prefix-9-x";
  Deno.bench({
    name: `scan every ACL, ${n} ACLs`,
    group: `${n} ACLs`,
    baseline: true,
    fn() {
      scan(list, AclOperation.DESCRIBE, ResourceType.TOPIC, literal);
      scan(list, AclOperation.READ, ResourceType.GROUP, prefixed);
    },
  });
  Deno.bench({
    name: `indexed authorize, ${n} ACLs`,
    group: `${n} ACLs`,
    fn() {
      auth.authorize(SUBJECT, AclOperation.DESCRIBE, ResourceType.TOPIC, literal);
      auth.authorize(SUBJECT, AclOperation.READ, ResourceType.GROUP, prefixed);
    },
  });
}
