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

import { SCRAM_CREDENTIALS_FILE } from "./scram_file.ts";
import type { EtcdClient } from "../cluster/etcd.ts";
import {
  type DocumentFormat,
  type DocumentStorage,
  EtcdDocumentStorage,
  FileDocumentStorage,
} from "../document_store.ts";
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
export type ScramStorage = DocumentStorage<ScramUsers>;

/** How the credentials are stored: `{"version": 1, "users": {...}}`. */
const SCRAM_FORMAT: DocumentFormat<ScramUsers> = {
  what: "SCRAM credentials",
  empty: () => new Map(),
  parse: parseStored,
  serialize,
  copy,
};

/** The credentials in `sluice-scram-credentials.json` of a data directory (standalone broker). */
export class FileScramStorage extends FileDocumentStorage<ScramUsers> {
  /**
   * The credentials of a data directory.
   *
   * @param dir The data directory.
   */
  constructor(dir: string) {
    super(`${dir}/${SCRAM_CREDENTIALS_FILE}`, SCRAM_FORMAT);
  }
}

/**
 * The credentials of a cluster in one etcd key every broker watches (cluster mode), changed by
 * compare-and-swap on the key's revision, as the ACLs are kept (`authorizer.ts`).
 */
export class EtcdScramStorage extends EtcdDocumentStorage<ScramUsers> {
  /**
   * The credentials of a cluster.
   *
   * @param etcd The cluster's etcd client.
   * @param key The key (`<prefix>/<cluster>/scram-credentials`).
   */
  constructor(etcd: EtcdClient, key: string) {
    super(etcd, key, SCRAM_FORMAT);
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
