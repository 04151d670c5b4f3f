// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * ACL bindings and filters as the client's {@linkcode Admin} takes them (names, not Kafka's wire
 * codes), and their wire codes (`org.apache.kafka.common.acl` / `.resource`).
 *
 * @module
 */

/** What an ACL is about (Kafka's `ResourceType`). */
export type AclResourceType =
  | "topic"
  | "group"
  | "cluster"
  | "transactional-id"
  | "delegation-token"
  | "user";
/** How an ACL's resource name matches: exactly (`*`: every name) or as a prefix. */
export type AclPatternType = "literal" | "prefixed";
/** An operation (Kafka's `AclOperation`); `all` covers every one. */
export type AclOperationName =
  | "all"
  | "read"
  | "write"
  | "create"
  | "delete"
  | "alter"
  | "describe"
  | "cluster-action"
  | "describe-configs"
  | "alter-configs"
  | "idempotent-write"
  | "create-tokens"
  | "describe-tokens";
/** Whether an ACL allows or denies. */
export type AclPermission = "allow" | "deny";

/** One ACL. */
export interface AclBinding {
  /** The resource type. */
  resourceType: AclResourceType;
  /** The name (the cluster's is `kafka-cluster`), or prefix; `*` with `literal` is every name. */
  resourceName: string;
  /** `literal` (default) or `prefixed`. */
  patternType?: AclPatternType;
  /** `User:name`; `User:*` is every user. */
  principal: string;
  /** The client's IP address, or `*` (default). */
  host?: string;
  /** The operation. */
  operation: AclOperationName;
  /** `allow` or `deny`. */
  permission: AclPermission;
}

/**
 * Which ACLs to list or delete: a missing field matches anything; `patternType: "match"` finds
 * every ACL that applies to the named resource (its name, `*`, and prefixes of it).
 */
export interface AclFilter {
  /** The resource type (default any). */
  resourceType?: AclResourceType | "any";
  /** The resource name (default any). */
  resourceName?: string | null;
  /** The pattern type (default any). */
  patternType?: AclPatternType | "any" | "match";
  /** The principal (default any). */
  principal?: string | null;
  /** The host (default any). */
  host?: string | null;
  /** The operation (default any). */
  operation?: AclOperationName | "any";
  /** The permission (default any). */
  permission?: AclPermission | "any";
}

/** Wire codes by name. */
export const ACL_CODES = {
  resourceType: {
    any: 1,
    topic: 2,
    group: 3,
    cluster: 4,
    "transactional-id": 5,
    "delegation-token": 6,
    user: 7,
  } as Record<string, number>,
  patternType: { any: 1, match: 2, literal: 3, prefixed: 4 } as Record<string, number>,
  operation: {
    any: 1,
    all: 2,
    read: 3,
    write: 4,
    create: 5,
    delete: 6,
    alter: 7,
    describe: 8,
    "cluster-action": 9,
    "describe-configs": 10,
    "alter-configs": 11,
    "idempotent-write": 12,
    "create-tokens": 13,
    "describe-tokens": 14,
  } as Record<string, number>,
  permission: { any: 1, deny: 2, allow: 3 } as Record<string, number>,
};

/**
 * The name of a wire code, e.g. `aclName("operation", 3) === "read"`.
 *
 * @param kind Which enumeration.
 * @param code The code.
 * @returns The name, or `unknown`.
 */
export function aclName(kind: keyof typeof ACL_CODES, code: number): string {
  for (const [n, c] of Object.entries(ACL_CODES[kind])) if (c === code) return n;
  return "unknown";
}

/**
 * The wire code of a name.
 *
 * @param kind Which enumeration.
 * @param name The name.
 * @returns The code.
 * @throws {RangeError} If the name is not one of the enumeration's.
 */
export function aclCode(kind: keyof typeof ACL_CODES, name: string): number {
  const code = ACL_CODES[kind][name];
  if (code === undefined) {
    throw new RangeError(
      `invalid ${kind} "${name}": expected one of ${Object.keys(ACL_CODES[kind]).join(", ")}`,
    );
  }
  return code;
}

/** The wire fields of a filter (DescribeAcls, DeleteAcls). */
export function filterFields(f: AclFilter): {
  resourceTypeFilter: number;
  resourceNameFilter: string | null;
  patternTypeFilter: number;
  principalFilter: string | null;
  hostFilter: string | null;
  operation: number;
  permissionType: number;
} {
  return {
    resourceTypeFilter: aclCode("resourceType", f.resourceType ?? "any"),
    resourceNameFilter: f.resourceName ?? null,
    patternTypeFilter: aclCode("patternType", f.patternType ?? "any"),
    principalFilter: f.principal ?? null,
    hostFilter: f.host ?? null,
    operation: aclCode("operation", f.operation ?? "any"),
    permissionType: aclCode("permission", f.permission ?? "any"),
  };
}

/** A binding from wire fields. */
export function bindingFrom(r: {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}): Required<AclBinding> {
  return {
    resourceType: aclName("resourceType", r.resourceType) as AclResourceType,
    resourceName: r.resourceName,
    patternType: aclName("patternType", r.patternType) as AclPatternType,
    principal: r.principal,
    host: r.host,
    operation: aclName("operation", r.operation) as AclOperationName,
    permission: aclName("permission", r.permissionType) as AclPermission,
  };
}
