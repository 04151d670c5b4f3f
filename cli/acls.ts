// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `sluice acls`: add, list and remove ACLs with `kafka-acls.sh`'s flags, printing like it.
 *
 * @module
 */

import {
  type AclBinding,
  type AclFilter,
  type AclOperationName,
  type AclPatternType,
  type AclResourceType,
  Admin,
  Client,
} from "../client/mod.ts";
import { parseFlags, UsageError } from "./args.ts";
import { COMMAND_CONFIG_OPTION, commandConfig } from "./command_config.ts";
import type { CommandIo } from "./io.ts";

/** Help text of `sluice acls`. */
export const ACLS_HELP: string =
  `Usage: sluice acls [--bootstrap-server HOST:PORT] ACTION RESOURCES [OPTIONS]

Actions (exactly one):
  --add       Add the ACLs: every principal x host x operation on every resource
  --list      List the ACLs (of the resources given, else all)
  --remove    Remove the ACLs (of the principals/operations given, else all of the resources)

Resources:
  --topic T              A topic (repeatable; "*" is every topic)
  --group G              A consumer group (repeatable)
  --cluster              The cluster
  --transactional-id T   A transactional id (repeatable)
  --delegation-token T   A delegation token (repeatable)
  --resource-pattern-type TYPE
                         literal (default) or prefixed; for --list/--remove also any, match

Options:
  --allow-principal P    A principal to allow, e.g. User:alice (repeatable; User:* for all)
  --deny-principal P     A principal to deny (repeatable)
  --allow-host H         A host the allow ACLs apply to (repeatable; default *)
  --deny-host H          A host the deny ACLs apply to (repeatable; default *)
  --operation OP         Read, Write, Create, Delete, Alter, Describe, ClusterAction,
                         DescribeConfigs, AlterConfigs, IdempotentWrite, All (repeatable;
                         default All)
  --principal P          With --list: only ACLs of this principal (repeatable)
  --producer             With --add/--remove: Write, Describe, Create on --topic, Write and
                         Describe on --transactional-id (and IdempotentWrite on the cluster
                         with --idempotent)
  --consumer             With --add/--remove: Read and Describe on --topic, Read on --group
  --idempotent           With --producer: IdempotentWrite on the cluster
  --force                Accepted for compatibility (nothing is asked)
  --bootstrap-server     Brokers to connect to (default localhost:9092)
  --command-config FILE  Client properties: security.protocol, ssl.*, sasl.*
  -h, --help             Show this help
`;

const OPERATIONS: Record<string, AclOperationName> = {
  all: "all",
  read: "read",
  write: "write",
  create: "create",
  delete: "delete",
  alter: "alter",
  describe: "describe",
  clusteraction: "cluster-action",
  describeconfigs: "describe-configs",
  alterconfigs: "alter-configs",
  idempotentwrite: "idempotent-write",
  createtokens: "create-tokens",
  describetokens: "describe-tokens",
};

/**
 * Parses an operation as kafka-acls.sh writes it (`Read`, `DescribeConfigs`, `describe-configs`).
 *
 * @example
 * ```ts
 * import { parseOperation } from "./acls.ts";
 * console.assert(parseOperation("IdempotentWrite") === "idempotent-write");
 * ```
 *
 * @param text The operation.
 * @returns The client's operation name.
 * @throws {UsageError} For an unknown operation.
 */
export function parseOperation(text: string): AclOperationName {
  const op = OPERATIONS[text.replace(/[-_ ]/g, "").toLowerCase()];
  if (op === undefined) {
    throw new UsageError(
      `invalid --operation "${text}": expected one of Read, Write, Create, Delete, Alter, ` +
        `Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All`,
    );
  }
  return op;
}

const KAFKA_NAMES: Record<string, string> = {
  "cluster-action": "CLUSTER_ACTION",
  "describe-configs": "DESCRIBE_CONFIGS",
  "alter-configs": "ALTER_CONFIGS",
  "idempotent-write": "IDEMPOTENT_WRITE",
  "create-tokens": "CREATE_TOKENS",
  "describe-tokens": "DESCRIBE_TOKENS",
  "transactional-id": "TRANSACTIONAL_ID",
  "delegation-token": "DELEGATION_TOKEN",
};

function kafkaName(name: string): string {
  return KAFKA_NAMES[name] ?? name.toUpperCase();
}

/**
 * Formats ACLs as `kafka-acls.sh --list` does: one block per resource pattern.
 *
 * @param acls The ACLs.
 * @returns The text.
 */
export function formatAcls(acls: Required<AclBinding>[]): string {
  const byResource = new Map<string, string[]>();
  for (const a of acls) {
    const key =
      `ResourcePattern(resourceType=${kafkaName(a.resourceType)}, name=${a.resourceName}` +
      `, patternType=${kafkaName(a.patternType)})`;
    const lines = byResource.get(key) ?? [];
    lines.push(
      `\t(principal=${a.principal}, host=${a.host}, operation=${kafkaName(a.operation)}, ` +
        `permissionType=${kafkaName(a.permission)})`,
    );
    byResource.set(key, lines);
  }
  return [...byResource].map(([k, lines]) =>
    `Current ACLs for resource \`${k}\`: \n${lines.join("\n")} \n\n`
  ).join("");
}

interface Resource {
  type: AclResourceType;
  name: string;
}

/**
 * Runs `sluice acls`.
 *
 * @param args Arguments after `acls`.
 * @param io Where to write output.
 * @returns The exit code.
 * @throws {UsageError} On bad flags.
 * @throws {KafkaError} When the broker refuses (e.g. `SECURITY_DISABLED`,
 *   `CLUSTER_AUTHORIZATION_FAILED`).
 */
export async function runAcls(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    add: { type: "boolean" },
    list: { type: "boolean" },
    remove: { type: "boolean" },
    topic: { type: "string", multiple: true },
    group: { type: "string", multiple: true },
    cluster: { type: "boolean" },
    "transactional-id": { type: "string", multiple: true },
    "delegation-token": { type: "string", multiple: true },
    "resource-pattern-type": { type: "string" },
    "allow-principal": { type: "string", multiple: true },
    "deny-principal": { type: "string", multiple: true },
    "allow-host": { type: "string", multiple: true },
    "deny-host": { type: "string", multiple: true },
    operation: { type: "string", multiple: true },
    principal: { type: "string", multiple: true },
    producer: { type: "boolean" },
    consumer: { type: "boolean" },
    idempotent: { type: "boolean" },
    force: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(ACLS_HELP);
    return 0;
  }
  const actions = ["add", "list", "remove"].filter((a) => values[a]);
  if (actions.length !== 1) {
    throw new UsageError("exactly one of --add, --list or --remove is required");
  }
  const action = actions[0];
  const list = (k: string) => (values[k] as string[] | undefined) ?? [];
  const patternText = ((values["resource-pattern-type"] as string | undefined) ?? "literal")
    .toLowerCase();
  const patterns = action === "add"
    ? ["literal", "prefixed"]
    : ["literal", "prefixed", "any", "match"];
  if (!patterns.includes(patternText)) {
    throw new UsageError(
      `invalid --resource-pattern-type "${patternText}" for --${action}: expected ${
        patterns.join(", ")
      }`,
    );
  }
  const resources: Resource[] = [
    ...list("topic").map((name) => ({ type: "topic" as const, name })),
    ...list("group").map((name) => ({ type: "group" as const, name })),
    ...(values.cluster ? [{ type: "cluster" as const, name: "kafka-cluster" }] : []),
    ...list("transactional-id").map((name) => ({ type: "transactional-id" as const, name })),
    ...list("delegation-token").map((name) => ({ type: "delegation-token" as const, name })),
  ];
  const allow = list("allow-principal");
  const deny = list("deny-principal");
  for (const p of [...allow, ...deny, ...list("principal")]) {
    if (!/^[^:]+:.*$/.test(p)) {
      throw new UsageError(`invalid principal "${p}": expected TYPE:NAME, e.g. User:alice`);
    }
  }
  if ((values.producer || values.consumer) && action === "list") {
    throw new UsageError("--producer and --consumer go with --add or --remove");
  }
  // the ACLs the flags describe: [resource, operation] pairs
  const pairs: [Resource, AclOperationName][] = [];
  if (values.producer || values.consumer) {
    if (values.producer) {
      for (const r of resources) {
        if (r.type === "topic") {
          for (const op of ["write", "describe", "create"] as const) pairs.push([r, op]);
        }
        if (r.type === "transactional-id") {
          for (const op of ["write", "describe"] as const) pairs.push([r, op]);
        }
      }
      if (values.idempotent) {
        pairs.push([{ type: "cluster", name: "kafka-cluster" }, "idempotent-write"]);
      }
      if (!resources.some((r) => r.type === "topic")) {
        throw new UsageError("--producer needs --topic");
      }
    }
    if (values.consumer) {
      if (
        !resources.some((r) => r.type === "topic") || !resources.some((r) => r.type === "group")
      ) {
        throw new UsageError("--consumer needs --topic and --group");
      }
      for (const r of resources) {
        if (r.type === "topic") {
          for (const op of ["read", "describe"] as const) pairs.push([r, op]);
        }
        if (r.type === "group") pairs.push([r, "read"]);
      }
    }
  } else {
    const ops = list("operation").map(parseOperation);
    for (const r of resources) {
      for (const op of ops.length === 0 ? ["all" as const] : ops) pairs.push([r, op]);
    }
  }
  const client = new Client({
    ...(await commandConfig(values["command-config"])),
    bootstrapServers: values["bootstrap-server"] as string,
    clientId: "sluice-acls",
  });
  try {
    const admin = new Admin(client);
    const patternType = patternText as AclPatternType;
    if (action === "add") {
      if (resources.length === 0) {
        throw new UsageError("--add needs a resource (--topic, --group, --cluster, ...)");
      }
      if (allow.length === 0 && deny.length === 0) {
        throw new UsageError("--add needs --allow-principal or --deny-principal");
      }
      const allowHosts = list("allow-host").length > 0 ? list("allow-host") : ["*"];
      const denyHosts = list("deny-host").length > 0 ? list("deny-host") : ["*"];
      const acls: AclBinding[] = [];
      for (const [r, operation] of pairs) {
        for (const principal of allow) {
          for (const host of allowHosts) {
            acls.push({
              resourceType: r.type,
              resourceName: r.name,
              patternType,
              principal,
              host,
              operation,
              permission: "allow",
            });
          }
        }
        for (const principal of deny) {
          for (const host of denyHosts) {
            acls.push({
              resourceType: r.type,
              resourceName: r.name,
              patternType,
              principal,
              host,
              operation,
              permission: "deny",
            });
          }
        }
      }
      await admin.createAcls(acls);
      io.stdout(
        `Adding ACLs:\n${formatAcls(acls.map((a) => ({ ...a, patternType, host: a.host! })))}`,
      );
      return 0;
    }
    if (action === "list") {
      const principals = list("principal");
      const filters: AclFilter[] = [];
      for (const r of resources.length === 0 ? [undefined] : resources) {
        for (const principal of principals.length === 0 ? [null] : principals) {
          filters.push({
            resourceType: r?.type ?? "any",
            resourceName: r?.name ?? null,
            patternType: r === undefined ? "any" : patternText as AclFilter["patternType"],
            principal,
          });
        }
      }
      const found = (await Promise.all(filters.map((f) => admin.describeAcls(f)))).flat();
      io.stdout(formatAcls(found));
      return 0;
    }
    if (resources.length === 0) {
      throw new UsageError("--remove needs a resource (--topic, --group, --cluster, ...)");
    }
    const filters: AclFilter[] = [];
    const who: [string | null, "allow" | "deny" | "any", string[]][] =
      allow.length + deny.length === 0 ? [[null, "any", []]] : [
        ...allow.map((p) => [p, "allow", list("allow-host")] as [string, "allow", string[]]),
        ...deny.map((p) => [p, "deny", list("deny-host")] as [string, "deny", string[]]),
      ];
    const explicitOps = values.producer || values.consumer || list("operation").length > 0;
    const resourcePairs: [Resource, AclOperationName | "any"][] = explicitOps
      ? pairs
      : resources.map((r) => [r, "any"]);
    for (const [r, operation] of resourcePairs) {
      for (const [principal, permission, hosts] of who) {
        for (const host of hosts.length === 0 ? [null] : hosts) {
          filters.push({
            resourceType: r.type,
            resourceName: r.name,
            patternType: patternText as AclFilter["patternType"],
            principal,
            host,
            operation,
            permission,
          });
        }
      }
    }
    const removed = (await admin.deleteAcls(filters)).flat();
    io.stdout(`Removed ACLs:\n${formatAcls(removed)}`);
    return 0;
  } finally {
    await client.close();
  }
}
