// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The ACL authorizer, with the semantics of Kafka's `StandardAuthorizer` (and `AclAuthorizer`
 * before it):
 *
 * - a principal in `super.users` may do everything;
 * - otherwise the ACLs that apply to a resource are the LITERAL ones with its name, the LITERAL
 *   `*` wildcard and the PREFIXED ones whose prefix starts its name; of those, the ones whose
 *   principal is the caller's (or `User:*`) and whose host is the client's IP address (or `*`)
 *   decide: a DENY of the operation (or ALL) refuses, whatever ALLOWs there are; else an ALLOW of
 *   the operation, of ALL, or of an operation implying it (READ, WRITE, DELETE and ALTER imply
 *   DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS) grants;
 * - a resource no ACL applies to at all (of any principal) is allowed only with
 *   `allow.everyone.if.no.acl.found=true` (default false).
 *
 * Lookups never scan every ACL: the ACLs are indexed by resource type, then literal name, and the
 * PREFIXED ones by prefix, probing only the prefix lengths some ACL of the type has.
 *
 * The ACLs are kept in `sluice-acls.json` in the data directory ({@linkcode FileAclStorage}),
 * written atomically (temporary file, fsync, rename, directory fsync) before a change applies, so
 * they survive a restart; in cluster mode in one etcd key that every broker watches
 * ({@linkcode EtcdAclStorage}), changed by compare-and-swap.
 *
 * @module
 */

import type { EtcdClient } from "../cluster/etcd.ts";
import {
  type DocumentFormat,
  type DocumentStorage,
  EtcdDocumentStorage,
  FileDocumentStorage,
} from "../document_store.ts";
import {
  type AclBinding,
  type AclBindingFilter,
  AclOperation,
  AclPermissionType,
  allowImplies,
  bindingKey,
  filterMatches,
  PatternType,
  type ResourceType,
  validateBinding,
  WILDCARD,
  WILDCARD_HOST,
  WILDCARD_PRINCIPAL,
} from "./acl.ts";
import { type KafkaPrincipal, principalToString } from "./principal.ts";

/** File in the data directory holding the ACLs. */
export const ACLS_FILE = "sluice-acls.json";

export { AUTHORIZER_CLASS_NAMES } from "./authorizer_names.ts";

/** Settings of an {@linkcode AclAuthorizer}. */
export interface AuthorizerOptions {
  /** Principals allowed everything (`super.users`), as `User:name`. */
  superUsers?: readonly string[];
  /** Allow an operation on a resource no ACL applies to (`allow.everyone.if.no.acl.found`). */
  allowEveryoneIfNoAclFound?: boolean;
}

/** Who is asking: the connection's principal and the client's IP address. */
export interface AuthorizationSubject {
  /** The principal (`User:ANONYMOUS` for unauthenticated connections). */
  readonly principal: KafkaPrincipal;
  /** The client's IP address, as ACL hosts name it (`127.0.0.1`, `::1`). */
  readonly host: string;
}

interface TypeIndex {
  literal: Map<string, AclBinding[]>;
  prefixed: Map<string, AclBinding[]>;
  /** Distinct prefix lengths of the PREFIXED ACLs, ascending. */
  prefixLengths: number[];
}

interface StoredAcls {
  version: 1;
  acls: AclBinding[];
}

/** Where an {@linkcode AclAuthorizer} keeps its ACLs. */
export type AclStorage = DocumentStorage<AclBinding[]>;

/** The ACLs of a stored document, validated. */
function parseStored(text: string): AclBinding[] {
  const parsed = JSON.parse(text) as Partial<StoredAcls>;
  if (parsed?.version !== 1 || !Array.isArray(parsed.acls)) {
    throw new Error(`unsupported format (version ${parsed?.version})`);
  }
  return parsed.acls.map((a) => {
    const b: AclBinding = {
      resourceType: a.resourceType,
      resourceName: a.resourceName,
      patternType: a.patternType,
      principal: a.principal,
      host: a.host,
      operation: a.operation,
      permissionType: a.permissionType,
    };
    const bad = validateBinding(b);
    if (bad !== null) throw new Error(`invalid ACL ${JSON.stringify(a)}: ${bad}`);
    return b;
  });
}

function serialize(acls: AclBinding[]): string {
  const stored: StoredAcls = { version: 1, acls };
  return JSON.stringify(stored, null, 1) + "\n";
}

/** How the ACLs are stored: `{"version": 1, "acls": [...]}`. */
const ACLS_FORMAT: DocumentFormat<AclBinding[]> = {
  what: "ACLs",
  empty: () => [],
  parse: parseStored,
  serialize,
  fileErrorNamesWhat: true,
};

/**
 * ACLs in `sluice-acls.json` in a data directory (standalone brokers): written atomically and
 * fsynced before a change applies.
 */
export class FileAclStorage extends FileDocumentStorage<AclBinding[]> {
  /**
   * The ACLs of a standalone broker, in `sluice-acls.json` in its data directory.
   *
   * @param dir The data directory.
   */
  constructor(dir: string) {
    super(`${dir}/${ACLS_FILE}`, ACLS_FORMAT);
  }
}

/**
 * ACLs in one etcd key (cluster mode, `<prefix>/<cluster>/acls`), shared by every broker: changed
 * by compare-and-swap on the key's revision, followed with a watch.
 */
export class EtcdAclStorage extends EtcdDocumentStorage<AclBinding[]> {
  /**
   * The ACLs of a cluster, in one etcd key every broker watches.
   *
   * @param etcd The cluster's etcd client.
   * @param key The key.
   */
  constructor(etcd: EtcdClient, key: string) {
    super(etcd, key, ACLS_FORMAT);
  }
}

/**
 * The broker's ACLs and the decisions made from them.
 *
 * @example
 * ```ts
 * import { AclAuthorizer } from "./authorizer.ts";
 * import { AclOperation, AclPermissionType, PatternType, ResourceType } from "./acl.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const auth = await AclAuthorizer.open(dir, { superUsers: ["User:admin"] });
 * await auth.createAcls([{
 *   resourceType: ResourceType.TOPIC, resourceName: "orders-", patternType: PatternType.PREFIXED,
 *   principal: "User:alice", host: "*", operation: AclOperation.WRITE,
 *   permissionType: AclPermissionType.ALLOW,
 * }]);
 * const alice = { principal: { type: "User", name: "alice" }, host: "10.0.0.1" };
 * console.assert(auth.authorize(alice, AclOperation.DESCRIBE, ResourceType.TOPIC, "orders-eu"));
 * console.assert(!auth.authorize(alice, AclOperation.READ, ResourceType.TOPIC, "orders-eu"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class AclAuthorizer {
  readonly #storage: AclStorage;
  readonly #superUsers: ReadonlySet<string>;
  readonly #allowEveryone: boolean;
  #acls = new Map<string, AclBinding>();
  #index = new Map<ResourceType, TypeIndex>();
  /** Changes are saved one at a time, in order. */
  #writes: Promise<unknown> = Promise.resolve();

  private constructor(storage: AclStorage, options: AuthorizerOptions, acls: AclBinding[]) {
    this.#storage = storage;
    this.#superUsers = new Set(options.superUsers ?? []);
    this.#allowEveryone = options.allowEveryoneIfNoAclFound ?? false;
    for (const a of acls) this.#acls.set(bindingKey(a), a);
    this.#reindex();
  }

  /**
   * Open the authorizer of a data directory, loading the ACLs saved there.
   * Requires `--allow-read` (and `--allow-write` to change ACLs).
   *
   * @param dir The data directory.
   * @param options `super.users` and `allow.everyone.if.no.acl.found`.
   * @returns The authorizer.
   * @throws {Error} If the ACL file exists but cannot be read or holds an invalid ACL.
   */
  static open(dir: string, options: AuthorizerOptions = {}): Promise<AclAuthorizer> {
    return AclAuthorizer.openWith(new FileAclStorage(dir), options);
  }

  /**
   * Open an authorizer on any storage (cluster mode: {@linkcode EtcdAclStorage}), loading its
   * ACLs and following changes made elsewhere.
   *
   * @param storage Where the ACLs are.
   * @param options `super.users` and `allow.everyone.if.no.acl.found`.
   * @returns The authorizer.
   * @throws {Error} If the ACLs cannot be read or one is invalid.
   */
  static async openWith(
    storage: AclStorage,
    options: AuthorizerOptions = {},
  ): Promise<AclAuthorizer> {
    const authorizer = new AclAuthorizer(storage, options, await storage.load());
    await storage.watch?.((acls) => authorizer.#replace(acls));
    return authorizer;
  }

  /** Where the ACLs are kept. */
  get storage(): string {
    return this.#storage.description;
  }

  /** Stop following changes made elsewhere. */
  close(): void {
    this.#storage.close?.();
  }

  /** How many ACLs there are. */
  get size(): number {
    return this.#acls.size;
  }

  /**
   * Whether a principal is in `super.users`.
   *
   * @param principal The principal, as `User:name`.
   * @returns Whether it may do everything.
   */
  isSuperUser(principal: string): boolean {
    return this.#superUsers.has(principal);
  }

  /**
   * Whether `subject` may perform `operation` on the resource `resourceType`:`name`.
   *
   * @param subject The principal and client host.
   * @param operation The operation (not ANY/ALL).
   * @param resourceType The resource type (not ANY).
   * @param name The resource's name (`kafka-cluster` for the cluster).
   * @returns Whether it is allowed.
   */
  authorize(
    subject: AuthorizationSubject,
    operation: AclOperation,
    resourceType: ResourceType,
    name: string,
  ): boolean {
    const principal = principalToString(subject.principal);
    if (this.#superUsers.has(principal)) return true;
    const index = this.#index.get(resourceType);
    if (index === undefined) return this.#allowEveryone;
    let found = false;
    let allowed = false;
    const consider = (acls: AclBinding[] | undefined): boolean => {
      if (acls === undefined) return false;
      found = true;
      for (const acl of acls) {
        if (acl.principal !== principal && acl.principal !== WILDCARD_PRINCIPAL) continue;
        if (acl.host !== subject.host && acl.host !== WILDCARD_HOST) continue;
        if (acl.permissionType === AclPermissionType.DENY) {
          if (acl.operation === operation || acl.operation === AclOperation.ALL) return true;
        } else if (allowImplies(acl.operation, operation)) {
          allowed = true;
        }
      }
      return false;
    };
    if (consider(index.literal.get(name))) return false;
    if (name !== WILDCARD && consider(index.literal.get(WILDCARD))) return false;
    for (const len of index.prefixLengths) {
      if (len > name.length) break;
      if (consider(index.prefixed.get(name.slice(0, len)))) return false;
    }
    return allowed || (!found && this.#allowEveryone);
  }

  /**
   * Whether `subject` may perform `operation` on some resource of `resourceType` (Kafka's
   * `Authorizer.authorizeByResourceType`, KIP-679: what InitProducerId of an idempotent producer
   * accepts instead of IDEMPOTENT_WRITE on the cluster): an ALLOW of the operation (or ALL) on a
   * name or prefix that no DENY covers. Implied operations do not count, as in Kafka.
   *
   * @param subject The principal and client host.
   * @param operation The operation.
   * @param resourceType The resource type.
   * @returns Whether some resource of the type is allowed.
   */
  authorizeByResourceType(
    subject: AuthorizationSubject,
    operation: AclOperation,
    resourceType: ResourceType,
  ): boolean {
    // super users, and allow.everyone.if.no.acl.found on a type without ACLs (Kafka checks a
    // hard-coded name the same way)
    if (this.authorize(subject, operation, resourceType, "hardcode")) return true;
    const index = this.#index.get(resourceType);
    if (index === undefined) return false;
    const principal = principalToString(subject.principal);
    const deniedLiteral = new Set<string>();
    const deniedPrefix = new Set<string>();
    const allowed: Array<[PatternType, string]> = [];
    for (const acls of [...index.literal.values(), ...index.prefixed.values()]) {
      for (const acl of acls) {
        if (acl.host !== subject.host && acl.host !== WILDCARD_HOST) continue;
        if (acl.principal !== principal && acl.principal !== WILDCARD_PRINCIPAL) continue;
        if (acl.operation !== operation && acl.operation !== AclOperation.ALL) continue;
        const literal = acl.patternType === PatternType.LITERAL;
        if (acl.permissionType === AclPermissionType.DENY) {
          if (literal && acl.resourceName === WILDCARD) return false;
          (literal ? deniedLiteral : deniedPrefix).add(acl.resourceName);
        } else {
          if (literal && acl.resourceName === WILDCARD) return true;
          allowed.push([acl.patternType, acl.resourceName]);
        }
      }
    }
    return allowed.some(([type, name]) => {
      if (type === PatternType.LITERAL && deniedLiteral.has(name)) return false;
      for (let i = 1; i <= name.length; i++) {
        if (deniedPrefix.has(name.slice(0, i))) return false;
      }
      return true;
    });
  }

  /**
   * The ACLs a filter matches (DescribeAcls).
   *
   * @param filter The filter.
   * @returns The matching bindings.
   */
  acls(filter: AclBindingFilter): AclBinding[] {
    return [...this.#acls.values()].filter((b) => filterMatches(filter, b));
  }

  /**
   * Add ACLs (CreateAcls) and save them before they apply; adding one that exists is a success
   * that changes nothing, as in Kafka. Requires `--allow-write`.
   *
   * @param bindings Validated bindings ({@linkcode validateBinding}).
   * @returns Resolves once saved.
   * @throws {Error} If the file cannot be written (nothing changed).
   */
  createAcls(bindings: readonly AclBinding[]): Promise<void> {
    return this.#change((next) => {
      for (const b of bindings) next.set(bindingKey(b), { ...b });
    });
  }

  /**
   * Remove the ACLs each filter matches (DeleteAcls) and save the rest before the change
   * applies. Requires `--allow-write`.
   *
   * @param filters Validated filters.
   * @returns The bindings each filter removed.
   * @throws {Error} If the file cannot be written (nothing changed).
   */
  async deleteAcls(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]> {
    let removed: AclBinding[][] = [];
    await this.#change((next) => {
      removed = filters.map((f) => {
        const out: AclBinding[] = [];
        for (const b of next.values()) {
          if (filterMatches(f, b)) out.push(b);
        }
        return out;
      });
      for (const list of removed) for (const b of list) next.delete(bindingKey(b));
    });
    return removed;
  }

  #change(edit: (next: Map<string, AclBinding>) => void): Promise<void> {
    const run = this.#writes.then(async () => {
      const stored = await this.#storage.update((current) => {
        const next = new Map(current.map((b) => [bindingKey(b), b]));
        edit(next);
        return [...next.values()];
      });
      this.#replace(stored);
    });
    this.#writes = run.catch(() => {});
    return run;
  }

  #replace(acls: readonly AclBinding[]): void {
    this.#acls = new Map(acls.map((b) => [bindingKey(b), b]));
    this.#reindex();
  }

  #reindex(): void {
    const index = new Map<ResourceType, TypeIndex>();
    for (const b of this.#acls.values()) {
      let t = index.get(b.resourceType);
      if (t === undefined) {
        t = { literal: new Map(), prefixed: new Map(), prefixLengths: [] };
        index.set(b.resourceType, t);
      }
      const byName = b.patternType === PatternType.PREFIXED ? t.prefixed : t.literal;
      const list = byName.get(b.resourceName);
      if (list === undefined) byName.set(b.resourceName, [b]);
      else list.push(b);
    }
    for (const t of index.values()) {
      t.prefixLengths = [...new Set([...t.prefixed.keys()].map((p) => p.length))]
        .sort((a, b) => a - b);
    }
    this.#index = index;
  }
}

/**
 * The client's IP address of a connection's `remote` (`host:port`, IPv6 unbracketed as Deno
 * gives it), as ACL hosts name it.
 *
 * @example
 * ```ts
 * import { hostOf } from "./authorizer.ts";
 * console.assert(hostOf("127.0.0.1:5555") === "127.0.0.1");
 * console.assert(hostOf("::1:5555") === "::1");
 * ```
 *
 * @param remote `host:port`.
 * @returns The host.
 */
export function hostOf(remote: string): string {
  const colon = remote.lastIndexOf(":");
  const host = colon < 0 ? remote : remote.slice(0, colon);
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}
