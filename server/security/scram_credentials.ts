// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The SCRAM credentials of the broker's users (Kafka keeps them in its metadata log, KRaft's
 * `UserScramCredentialRecord`): per user and mechanism the salt, the iteration count, StoredKey
 * and ServerKey - never the password, nor the salted password. Managed by
 * AlterUserScramCredentials and read by DescribeUserScramCredentials and SCRAM authentication.
 *
 * Standalone, they live in `sluice-scram-credentials.json` in the data directory, replaced
 * atomically (write, fsync, rename, fsync of the directory) on every change, so a change that was
 * answered survives a crash ({@linkcode FileScramStorage}). In cluster mode every broker reads
 * and watches one etcd key, `<prefix>/<cluster>/scram-credentials`, changed by compare-and-swap
 * ({@linkcode EtcdScramStorage}), so a user created at one broker logs in at every broker and a
 * deletion revokes it everywhere (as Kafka's brokers replay the metadata log's records).
 *
 * @module
 */

import { writeFileAtomic } from "../../engine/mod.ts";
import { SCRAM_CREDENTIALS_FILE } from "./scram_file.ts";
import type { EtcdClient, Watch } from "../cluster/etcd.ts";
import {
  credentialFromSaltedPassword,
  fromBase64,
  SCRAM_MECHANISMS,
  type ScramCredential,
  type ScramMechanism,
  toBase64,
} from "../../protocol/scram.ts";

export { SCRAM_CREDENTIALS_FILE };

interface StoredCredential {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

interface StoredFile {
  version: 1;
  users: Record<string, Partial<Record<ScramMechanism, StoredCredential>>>;
}

/** One change of {@linkcode ScramCredentialStore.apply}. */
export type ScramChange =
  | { op: "delete"; user: string; mechanism: ScramMechanism }
  | {
    op: "upsert";
    user: string;
    mechanism: ScramMechanism;
    salt: Uint8Array;
    saltedPassword: Uint8Array;
    iterations: number;
  };

/** The credentials of every user: user -> mechanism -> credential. */
export type ScramUsers = Map<string, Map<ScramMechanism, ScramCredential>>;

/** Where the credentials are kept: a file of the data directory, or a key of etcd. */
export interface ScramStorage {
  /** What the storage is, for messages. */
  readonly description: string;
  /** Read the credentials (none stored: an empty map). */
  load(): Promise<ScramUsers>;
  /**
   * Replace the credentials by `edit(current)` durably, `current` being what is stored now
   * (another broker may have changed it since the last read).
   */
  update(edit: (current: ScramUsers) => ScramUsers): Promise<ScramUsers>;
  /** Follow changes made elsewhere (cluster mode); storages without other writers do nothing. */
  watch?(onChange: (users: ScramUsers) => void): Promise<void>;
  /** Stop following changes. */
  close?(): void;
}

/** The credentials in `sluice-scram-credentials.json` of a data directory (standalone broker). */
export class FileScramStorage implements ScramStorage {
  readonly #path: string;
  #current: ScramUsers = new Map();

  /**
   * The credentials of a data directory.
   *
   * @param dir The data directory.
   */
  constructor(dir: string) {
    this.#path = `${dir}/${SCRAM_CREDENTIALS_FILE}`;
  }

  /** The file. */
  get description(): string {
    return this.#path;
  }

  /** Read the file (none: no credentials). Needs `--allow-read`. */
  async load(): Promise<ScramUsers> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return this.#current = new Map();
      throw new Error(`cannot read ${this.#path}: ${e instanceof Error ? e.message : e}`);
    }
    try {
      return this.#current = parseStored(text);
    } catch (e) {
      throw new Error(`cannot read ${this.#path}: ${e instanceof Error ? e.message : e}`);
    }
  }

  /** Write the new set atomically. Needs `--allow-write`. */
  async update(edit: (current: ScramUsers) => ScramUsers): Promise<ScramUsers> {
    const next = edit(copy(this.#current));
    await writeFileAtomic(this.#path, new TextEncoder().encode(serialize(next)));
    return this.#current = next;
  }
}

/**
 * The credentials of a cluster in one etcd key every broker watches (cluster mode), changed by
 * compare-and-swap on the key's revision, as the ACLs are kept (`authorizer.ts`).
 */
export class EtcdScramStorage implements ScramStorage {
  readonly #etcd: EtcdClient;
  readonly #key: string;
  #revision = 0;
  /** The revision of the last write or read here: older watch events are stale. */
  #seen = 0;
  #watch: Watch | undefined;

  /**
   * The credentials of a cluster.
   *
   * @param etcd The cluster's etcd client.
   * @param key The key (`<prefix>/<cluster>/scram-credentials`).
   */
  constructor(etcd: EtcdClient, key: string) {
    this.#etcd = etcd;
    this.#key = key;
  }

  /** The key. */
  get description(): string {
    return `etcd key ${this.#key}`;
  }

  /** Read the key (absent: no credentials). */
  async load(): Promise<ScramUsers> {
    const r = await this.#etcd.range(this.#key);
    this.#revision = r.revision;
    const kv = r.kvs[0];
    this.#seen = Math.max(this.#seen, kv?.modRevision ?? 0);
    try {
      return kv === undefined ? new Map() : parseStored(kv.value);
    } catch (e) {
      throw new Error(
        `cannot read SCRAM credentials from ${this.description}: ${(e as Error).message}`,
      );
    }
  }

  /** Compare-and-swap the key until no other writer got between. */
  async update(edit: (current: ScramUsers) => ScramUsers): Promise<ScramUsers> {
    for (;;) {
      const kv = await this.#etcd.get(this.#key);
      const next = edit(kv === undefined ? new Map() : parseStored(kv.value));
      const r = await this.#etcd.txn({
        compare: [
          kv === undefined
            ? { key: this.#key, target: "create", value: 0 }
            : { key: this.#key, target: "mod", value: kv.modRevision },
        ],
        success: [{ put: { key: this.#key, value: serialize(next) } }],
      });
      if (r.succeeded) {
        this.#seen = Math.max(this.#seen, r.revision);
        return next;
      }
    }
  }

  /** Follow the key from the revision of the last load. */
  async watch(onChange: (users: ScramUsers) => void): Promise<void> {
    this.#watch = this.#etcd.watch(this.#key, {
      startRevision: this.#revision + 1,
      onEvents: (events, revision) => {
        const last = events[events.length - 1];
        // a change older than one this broker wrote (and already applied) is not news
        if (last === undefined || revision <= this.#seen) return;
        this.#seen = revision;
        onChange(last.type === "delete" ? new Map() : parseStored(last.kv.value));
      },
      onCompacted: async () => {
        onChange(await this.load());
        return this.#revision;
      },
    });
    await this.#watch.ready;
  }

  /** Stop the watch. */
  close(): void {
    this.#watch?.close();
  }
}

/**
 * The SCRAM credentials of the broker's users, kept in a {@linkcode ScramStorage}.
 *
 * @example
 * ```ts
 * import { ScramCredentialStore } from "./scram_credentials.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const store = await ScramCredentialStore.open(dir);
 * await store.apply([{
 *   op: "upsert", user: "alice", mechanism: "SCRAM-SHA-256",
 *   salt: new Uint8Array(16), saltedPassword: new Uint8Array(32), iterations: 4096,
 * }]);
 * console.assert(store.get("alice", "SCRAM-SHA-256")?.iterations === 4096);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ScramCredentialStore {
  readonly #storage: ScramStorage | null;
  #users: ScramUsers = new Map();
  #writing: Promise<void> = Promise.resolve();

  private constructor(storage: ScramStorage | null) {
    this.#storage = storage;
  }

  /**
   * Load the credentials of a data directory (none if the file does not exist yet).
   * Needs `--allow-read` (and `--allow-write` to change them).
   *
   * @param dir The data directory; `null` keeps them in memory only (tests).
   * @returns The store.
   * @throws {Error} If the file exists but cannot be read or is malformed.
   */
  static open(dir: string | null): Promise<ScramCredentialStore> {
    return ScramCredentialStore.openWith(dir === null ? null : new FileScramStorage(dir));
  }

  /**
   * Load the credentials of any storage and follow the changes other brokers make to it
   * (cluster mode: {@linkcode EtcdScramStorage}).
   *
   * @param storage Where the credentials are; `null` keeps them in memory only (tests).
   * @returns The store.
   * @throws {Error} If the credentials cannot be read or are malformed.
   */
  static async openWith(storage: ScramStorage | null): Promise<ScramCredentialStore> {
    const store = new ScramCredentialStore(storage);
    if (storage === null) return store;
    store.#users = await storage.load();
    await storage.watch?.((users) => {
      store.#users = users;
    });
    return store;
  }

  /** Where the credentials are kept, for messages. */
  get storage(): string {
    return this.#storage?.description ?? "memory";
  }

  /** Stop following changes made elsewhere. */
  close(): void {
    this.#storage?.close?.();
  }

  /**
   * The credential of a user for a mechanism.
   *
   * @param user The user name.
   * @param mechanism The mechanism.
   * @returns The credential, or undefined.
   */
  get(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    return this.#users.get(user)?.get(mechanism);
  }

  /** Every user with at least one credential, sorted. */
  users(): string[] {
    return [...this.#users.keys()].sort();
  }

  /**
   * The mechanisms and iteration counts of a user's credentials.
   *
   * @param user The user name.
   * @returns Mechanism -> iterations, in mechanism order; empty for an unknown user.
   */
  describe(user: string): { mechanism: ScramMechanism; iterations: number }[] {
    const m = this.#users.get(user);
    if (m === undefined) return [];
    return [...SCRAM_MECHANISMS.keys()].filter((k) => m.has(k)).map((k) => ({
      mechanism: k,
      iterations: m.get(k)!.iterations,
    }));
  }

  /**
   * Apply changes (already validated) and save them durably before returning. The
   * salted passwords are turned into StoredKey and ServerKey here and not kept.
   *
   * @param changes Deletions and upsertions.
   * @throws {Error} If the storage cannot be written (the changes are then not applied).
   */
  async apply(changes: readonly ScramChange[]): Promise<void> {
    const derived: [ScramChange, ScramCredential | null][] = [];
    for (const c of changes) {
      if (c.op === "delete") derived.push([c, null]);
      else {
        const mech = SCRAM_MECHANISMS.get(c.mechanism)!;
        derived.push([
          c,
          await credentialFromSaltedPassword(mech, c.saltedPassword, c.salt, c.iterations),
        ]);
      }
    }
    const edit = (current: ScramUsers): ScramUsers => {
      const next = copy(current);
      for (const [c, cred] of derived) {
        const m = next.get(c.user) ?? new Map<ScramMechanism, ScramCredential>();
        if (cred === null) m.delete(c.mechanism);
        else m.set(c.mechanism, cred);
        if (m.size === 0) next.delete(c.user);
        else next.set(c.user, m);
      }
      return next;
    };
    // One change at a time, each saved before the next: answers never run ahead of the storage.
    const run = this.#writing.then(async () => {
      this.#users = this.#storage === null ? edit(this.#users) : await this.#storage.update(edit);
    });
    this.#writing = run.catch(() => {});
    await run;
  }
}

function copy(users: ScramUsers): ScramUsers {
  return new Map([...users].map(([u, m]) => [u, new Map(m)]));
}

/** The stored form (file or etcd value) as credentials. */
function parseStored(text: string): ScramUsers {
  const parsed = JSON.parse(text) as StoredFile;
  if (parsed?.version !== 1 || typeof parsed.users !== "object" || parsed.users === null) {
    throw new Error(`unsupported version ${parsed?.version}`);
  }
  const users: ScramUsers = new Map();
  for (const [user, mechs] of Object.entries(parsed.users)) {
    const m = new Map<ScramMechanism, ScramCredential>();
    for (const [name, c] of Object.entries(mechs ?? {})) {
      if (!SCRAM_MECHANISMS.has(name as ScramMechanism)) {
        throw new Error(`unknown mechanism ${name} for user ${user}`);
      }
      if (!Number.isSafeInteger(c.iterations) || c.iterations < 1) {
        throw new Error(`invalid iterations for user ${user}`);
      }
      m.set(name as ScramMechanism, {
        salt: fromBase64(c.salt, "salt"),
        iterations: c.iterations,
        storedKey: fromBase64(c.storedKey, "storedKey"),
        serverKey: fromBase64(c.serverKey, "serverKey"),
      });
    }
    if (m.size > 0) users.set(user, m);
  }
  return users;
}

function serialize(users: ScramUsers): string {
  const out: StoredFile = { version: 1, users: {} };
  for (const [user, m] of [...users].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const rec: Partial<Record<ScramMechanism, StoredCredential>> = {};
    for (const [mech, c] of m) {
      rec[mech] = {
        salt: toBase64(c.salt),
        iterations: c.iterations,
        storedKey: toBase64(c.storedKey),
        serverKey: toBase64(c.serverKey),
      };
    }
    out.users[user] = rec;
  }
  return JSON.stringify(out, null, 2) + "\n";
}
