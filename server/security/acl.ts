// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * ACLs as Kafka defines them (`org.apache.kafka.common.acl`, `org.apache.kafka.common.resource`):
 * the wire codes of resource types, pattern types, operations and permission types, an ACL
 * binding (a resource pattern and an access-control entry), binding filters with Kafka's
 * matching rules (`ResourcePatternFilter.matches`, `AccessControlEntryFilter.matches`), and the
 * validation CreateAcls and DeleteAcls apply (`AclControlManager.validateNewAcl`,
 * `validateFilter`).
 *
 * @module
 */

import { parsePrincipal } from "./principal.ts";

/** Resource types (`org.apache.kafka.common.resource.ResourceType`), by wire code. */
export const ResourceType: Readonly<{
  readonly UNKNOWN: 0;
  readonly ANY: 1;
  readonly TOPIC: 2;
  readonly GROUP: 3;
  readonly CLUSTER: 4;
  readonly TRANSACTIONAL_ID: 5;
  readonly DELEGATION_TOKEN: 6;
  readonly USER: 7;
}> = Object.freeze(
  {
    UNKNOWN: 0,
    ANY: 1,
    TOPIC: 2,
    GROUP: 3,
    CLUSTER: 4,
    TRANSACTIONAL_ID: 5,
    DELEGATION_TOKEN: 6,
    USER: 7,
  } as const,
);
/** A resource type code. */
export type ResourceType = number;

/** Pattern types (`org.apache.kafka.common.resource.PatternType`), by wire code. */
export const PatternType: Readonly<{
  readonly UNKNOWN: 0;
  readonly ANY: 1;
  readonly MATCH: 2;
  readonly LITERAL: 3;
  readonly PREFIXED: 4;
}> = Object.freeze(
  {
    UNKNOWN: 0,
    ANY: 1,
    MATCH: 2,
    LITERAL: 3,
    PREFIXED: 4,
  } as const,
);
/** A pattern type code. */
export type PatternType = number;

/** Operations (`org.apache.kafka.common.acl.AclOperation`), by wire code. */
export const AclOperation: Readonly<{
  readonly UNKNOWN: 0;
  readonly ANY: 1;
  readonly ALL: 2;
  readonly READ: 3;
  readonly WRITE: 4;
  readonly CREATE: 5;
  readonly DELETE: 6;
  readonly ALTER: 7;
  readonly DESCRIBE: 8;
  readonly CLUSTER_ACTION: 9;
  readonly DESCRIBE_CONFIGS: 10;
  readonly ALTER_CONFIGS: 11;
  readonly IDEMPOTENT_WRITE: 12;
  readonly CREATE_TOKENS: 13;
  readonly DESCRIBE_TOKENS: 14;
}> = Object.freeze(
  {
    UNKNOWN: 0,
    ANY: 1,
    ALL: 2,
    READ: 3,
    WRITE: 4,
    CREATE: 5,
    DELETE: 6,
    ALTER: 7,
    DESCRIBE: 8,
    CLUSTER_ACTION: 9,
    DESCRIBE_CONFIGS: 10,
    ALTER_CONFIGS: 11,
    IDEMPOTENT_WRITE: 12,
    CREATE_TOKENS: 13,
    DESCRIBE_TOKENS: 14,
  } as const,
);
/** An operation code. */
export type AclOperation = number;

/** Permission types (`org.apache.kafka.common.acl.AclPermissionType`), by wire code. */
export const AclPermissionType: Readonly<{
  readonly UNKNOWN: 0;
  readonly ANY: 1;
  readonly DENY: 2;
  readonly ALLOW: 3;
}> = Object.freeze(
  {
    UNKNOWN: 0,
    ANY: 1,
    DENY: 2,
    ALLOW: 3,
  } as const,
);
/** A permission type code. */
export type AclPermissionType = number;

/** The one name a CLUSTER resource has (`Resource.CLUSTER_NAME`). */
export const CLUSTER_NAME = "kafka-cluster";
/** The resource name and principal name that match every name (`ResourcePattern.WILDCARD_RESOURCE`). */
export const WILDCARD = "*";
/** The principal that matches every user principal in an ACL. */
export const WILDCARD_PRINCIPAL = "User:*";
/** The host that matches every client address in an ACL. */
export const WILDCARD_HOST = "*";

/** One ACL: who (principal, host) may or may not do what (operation) to which resources. */
export interface AclBinding {
  /** The resource type ({@linkcode ResourceType}). */
  readonly resourceType: ResourceType;
  /** The resource name, or prefix for PREFIXED; `*` with LITERAL matches every name. */
  readonly resourceName: string;
  /** LITERAL or PREFIXED ({@linkcode PatternType}). */
  readonly patternType: PatternType;
  /** `type:name`, e.g. `User:alice`; `User:*` matches every user. */
  readonly principal: string;
  /** The client's IP address, or `*`. */
  readonly host: string;
  /** The operation ({@linkcode AclOperation}); ALL matches every operation. */
  readonly operation: AclOperation;
  /** ALLOW or DENY ({@linkcode AclPermissionType}). */
  readonly permissionType: AclPermissionType;
}

/**
 * A filter over ACL bindings (DescribeAcls, DeleteAcls): `null` strings match anything, ANY codes
 * match every value, and the MATCH pattern type matches every pattern that would apply to the
 * named resource (the literal name, the `*` wildcard, and prefixes of the name).
 */
export interface AclBindingFilter {
  /** The resource type, or ANY. */
  readonly resourceType: ResourceType;
  /** The resource name, or `null` for any. */
  readonly resourceName: string | null;
  /** LITERAL, PREFIXED, ANY or MATCH. */
  readonly patternType: PatternType;
  /** The principal, or `null` for any. */
  readonly principal: string | null;
  /** The host, or `null` for any. */
  readonly host: string | null;
  /** The operation, or ANY. */
  readonly operation: AclOperation;
  /** ALLOW, DENY or ANY. */
  readonly permissionType: AclPermissionType;
}

/** The enumerations {@linkcode aclCodeName} and {@linkcode parseAclCode} know. */
export type AclCodeKind = "resourceType" | "patternType" | "operation" | "permissionType";

const NAMES: Record<AclCodeKind, Map<number, string>> = {
  resourceType: invert(ResourceType),
  patternType: invert(PatternType),
  operation: invert(AclOperation),
  permissionType: invert(AclPermissionType),
};

function invert(o: Readonly<Record<string, number>>): Map<number, string> {
  return new Map(Object.entries(o).map(([k, v]) => [v, k]));
}

/**
 * Kafka's name of a code, e.g. `resourceTypeName(2) === "TOPIC"`; `UNKNOWN` for codes Kafka does
 * not define.
 *
 * @param kind Which enumeration.
 * @param code The wire code.
 * @returns The name.
 */
export function aclCodeName(kind: AclCodeKind, code: number): string {
  return NAMES[kind].get(code) ?? "UNKNOWN";
}

/**
 * Parse a name of an enumeration, case-insensitive, `-`/`_` alike (`idempotent-write`,
 * `TransactionalId`, `prefixed`).
 *
 * @param kind Which enumeration.
 * @param name The name.
 * @returns The code, or `undefined` when no value has that name.
 */
export function parseAclCode(kind: AclCodeKind, name: string): number | undefined {
  const norm = (s: string) => s.replace(/[-_ ]/g, "").toUpperCase();
  const want = norm(name);
  for (const [code, n] of NAMES[kind]) if (norm(n) === want) return code;
  return undefined;
}

/**
 * Which operations an ACL of `operation` that ALLOWs also allows: ALL allows everything, READ,
 * WRITE, DELETE and ALTER imply DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS (Kafka's
 * `AclAuthorizer`/`StandardAuthorizer`). DENY ACLs deny only their own operation (or ALL).
 *
 * @example
 * ```ts
 * import { AclOperation, allowImplies } from "./acl.ts";
 * console.assert(allowImplies(AclOperation.READ, AclOperation.DESCRIBE));
 * console.assert(!allowImplies(AclOperation.DESCRIBE, AclOperation.READ));
 * ```
 *
 * @param granted The ACL's operation.
 * @param wanted The operation being authorized.
 * @returns Whether an ALLOW ACL of `granted` covers `wanted`.
 */
export function allowImplies(granted: AclOperation, wanted: AclOperation): boolean {
  if (granted === wanted || granted === AclOperation.ALL) return true;
  if (wanted === AclOperation.DESCRIBE) {
    return granted === AclOperation.READ || granted === AclOperation.WRITE ||
      granted === AclOperation.DELETE || granted === AclOperation.ALTER;
  }
  if (wanted === AclOperation.DESCRIBE_CONFIGS) return granted === AclOperation.ALTER_CONFIGS;
  return false;
}

/**
 * The operations an ACL on a resource type can meaningfully grant (Kafka's
 * `AclEntry.supportedOperations`): what Metadata's and DescribeGroups' authorized-operations
 * fields are computed over.
 */
export const SUPPORTED_OPERATIONS: ReadonlyMap<ResourceType, readonly AclOperation[]> = new Map([
  [ResourceType.TOPIC, [
    AclOperation.READ,
    AclOperation.WRITE,
    AclOperation.CREATE,
    AclOperation.DESCRIBE,
    AclOperation.DELETE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
  ]],
  [ResourceType.GROUP, [AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE]],
  [ResourceType.CLUSTER, [
    AclOperation.CREATE,
    AclOperation.CLUSTER_ACTION,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
    AclOperation.IDEMPOTENT_WRITE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE,
  ]],
  [ResourceType.TRANSACTIONAL_ID, [AclOperation.DESCRIBE, AclOperation.WRITE]],
  [ResourceType.DELEGATION_TOKEN, [AclOperation.DESCRIBE]],
  [ResourceType.USER, [AclOperation.CREATE_TOKENS, AclOperation.DESCRIBE_TOKENS]],
]);

/**
 * Why a new ACL binding is refused, or `null` if it is valid: Kafka's CreateAcls checks
 * (`AclControlManager.validateNewAcl` and `AclApis`), answered with INVALID_REQUEST.
 *
 * @example
 * ```ts
 * import { AclOperation, AclPermissionType, PatternType, ResourceType, validateBinding } from "./acl.ts";
 * const ok = validateBinding({
 *   resourceType: ResourceType.TOPIC, resourceName: "t", patternType: PatternType.LITERAL,
 *   principal: "User:alice", host: "*", operation: AclOperation.READ,
 *   permissionType: AclPermissionType.ALLOW,
 * });
 * console.assert(ok === null);
 * ```
 *
 * @param b The binding.
 * @returns The reason, or `null`.
 */
export function validateBinding(b: AclBinding): string | null {
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) {
    return `Invalid patternType ${aclCodeName("patternType", b.patternType)}`;
  }
  if (
    b.resourceType === ResourceType.UNKNOWN || b.resourceType === ResourceType.ANY ||
    !NAMES.resourceType.has(b.resourceType)
  ) {
    return `Invalid resourceType ${aclCodeName("resourceType", b.resourceType)}`;
  }
  if (
    b.operation === AclOperation.UNKNOWN || b.operation === AclOperation.ANY ||
    !NAMES.operation.has(b.operation)
  ) {
    return `Invalid operation ${aclCodeName("operation", b.operation)}`;
  }
  if (b.permissionType !== AclPermissionType.ALLOW && b.permissionType !== AclPermissionType.DENY) {
    return `Invalid permissionType ${aclCodeName("permissionType", b.permissionType)}`;
  }
  if (b.resourceName === "") return "Resource name should not be empty";
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME) {
    return `The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`;
  }
  try {
    parsePrincipal(b.principal);
  } catch {
    return `Could not parse principal from \`${b.principal}\` (no colon is present separating ` +
      `the principal type from the principal name)`;
  }
  if (b.host === "") return "Host should not be empty (use * for every host)";
  return null;
}

/**
 * Why a filter is refused, or `null` if it is valid: a filter with an UNKNOWN element (Kafka's
 * `validateFilter`: "Unknown patternFilter." / "Unknown entryFilter."), answered with
 * INVALID_REQUEST.
 *
 * @param f The filter.
 * @returns The reason, or `null`.
 */
export function validateFilter(f: AclBindingFilter): string | null {
  if (!NAMES.resourceType.has(f.resourceType) || f.resourceType === ResourceType.UNKNOWN) {
    return "Unknown patternFilter: resource type is UNKNOWN";
  }
  if (!NAMES.patternType.has(f.patternType) || f.patternType === PatternType.UNKNOWN) {
    return "Unknown patternFilter: pattern type is UNKNOWN";
  }
  if (!NAMES.operation.has(f.operation) || f.operation === AclOperation.UNKNOWN) {
    return "Unknown entryFilter: operation is UNKNOWN";
  }
  if (
    !NAMES.permissionType.has(f.permissionType) || f.permissionType === AclPermissionType.UNKNOWN
  ) {
    return "Unknown entryFilter: permission type is UNKNOWN";
  }
  return null;
}

/**
 * Whether a filter matches a binding (Kafka's `AclBindingFilter.matches`).
 *
 * @example
 * ```ts
 * import { AclOperation, AclPermissionType, filterMatches, PatternType, ResourceType } from "./acl.ts";
 * const acl = {
 *   resourceType: ResourceType.TOPIC, resourceName: "orders-", patternType: PatternType.PREFIXED,
 *   principal: "User:alice", host: "*", operation: AclOperation.READ,
 *   permissionType: AclPermissionType.ALLOW,
 * };
 * console.assert(filterMatches({
 *   resourceType: ResourceType.TOPIC, resourceName: "orders-eu", patternType: PatternType.MATCH,
 *   principal: null, host: null, operation: AclOperation.ANY,
 *   permissionType: AclPermissionType.ANY,
 * }, acl));
 * ```
 *
 * @param f The filter.
 * @param b The binding.
 * @returns Whether it matches.
 */
export function filterMatches(f: AclBindingFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  if (
    f.patternType !== PatternType.ANY && f.patternType !== PatternType.MATCH &&
    f.patternType !== b.patternType
  ) return false;
  if (f.resourceName !== null) {
    if (f.patternType === PatternType.ANY || f.patternType === b.patternType) {
      if (f.resourceName !== b.resourceName) return false;
    } else if (b.patternType === PatternType.LITERAL) {
      if (f.resourceName !== b.resourceName && b.resourceName !== WILDCARD) return false;
    } else if (!f.resourceName.startsWith(b.resourceName)) return false;
  }
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  if (f.operation !== AclOperation.ANY && f.operation !== b.operation) return false;
  return f.permissionType === AclPermissionType.ANY || f.permissionType === b.permissionType;
}

/**
 * A binding as kafka-acls.sh prints it.
 *
 * @param b The binding.
 * @returns E.g. `(principal=User:alice, host=*, operation=READ, permissionType=ALLOW) on
 * TOPIC:LITERAL:orders`.
 */
export function bindingToString(b: AclBinding): string {
  return `(principal=${b.principal}, host=${b.host}, operation=` +
    `${aclCodeName("operation", b.operation)}, permissionType=` +
    `${aclCodeName("permissionType", b.permissionType)}) on ` +
    `${aclCodeName("resourceType", b.resourceType)}:${aclCodeName("patternType", b.patternType)}:` +
    b.resourceName;
}

/** A key identifying a binding (for deduplication). */
export function bindingKey(b: AclBinding): string {
  return JSON.stringify([
    b.resourceType,
    b.patternType,
    b.resourceName,
    b.principal,
    b.host,
    b.operation,
    b.permissionType,
  ]);
}
