// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The SCRAM credentials of the broker's users (Kafka keeps them in its metadata log, KRaft's
 * `UserScramCredentialRecord`): per user and mechanism the salt, the iteration count, StoredKey
 * and ServerKey — never the password, nor the salted password. Managed by
 * AlterUserScramCredentials and read by DescribeUserScramCredentials and SCRAM authentication.
 *
 * Standalone, they live in `sluice-scram-credentials.json` in the data directory, replaced
 * atomically (write, fsync, rename, fsync of the directory) on every change, so a change that was
 * answered survives a crash. Cluster mode keeps each broker's own file (see docs/SECURITY.md).
 *
 * @module
 */

import { writeFileAtomic } from "../../engine/mod.ts";
import {
  credentialFromSaltedPassword,
  fromBase64,
  SCRAM_MECHANISMS,
  type ScramCredential,
  type ScramMechanism,
  toBase64,
} from "../../protocol/scram.ts";

/** File in the data directory holding the SCRAM credentials. */
export const SCRAM_CREDENTIALS_FILE = "sluice-scram-credentials.json";

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

/**
 * SCRAM credentials of one broker, loaded from and saved to its data directory.
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
  readonly #path: string | null;
  readonly #users = new Map<string, Map<ScramMechanism, ScramCredential>>();
  #writing: Promise<void> = Promise.resolve();

  private constructor(path: string | null) {
    this.#path = path;
  }

  /**
   * Load the credentials of a data directory (none if the file does not exist yet).
   * Needs `--allow-read` (and `--allow-write` to change them).
   *
   * @param dir The data directory; `null` keeps them in memory only (tests).
   * @returns The store.
   * @throws {Error} If the file exists but cannot be read or is malformed.
   */
  static async open(dir: string | null): Promise<ScramCredentialStore> {
    const path = dir === null ? null : `${dir}/${SCRAM_CREDENTIALS_FILE}`;
    const store = new ScramCredentialStore(path);
    if (path === null) return store;
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return store;
      throw new Error(`cannot read ${path}: ${e instanceof Error ? e.message : e}`);
    }
    try {
      const parsed = JSON.parse(text) as StoredFile;
      if (parsed?.version !== 1 || typeof parsed.users !== "object" || parsed.users === null) {
        throw new Error(`unsupported version ${parsed?.version}`);
      }
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
        if (m.size > 0) store.#users.set(user, m);
      }
    } catch (e) {
      throw new Error(`cannot read ${path}: ${e instanceof Error ? e.message : e}`);
    }
    return store;
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
   * @returns Mechanism → iterations, in mechanism order; empty for an unknown user.
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
   * @throws {Error} If the file cannot be written (the changes are then not applied).
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
    // One change at a time, each saved before the next: answers never run ahead of the file.
    const run = this.#writing.then(async () => {
      const next = new Map([...this.#users].map(([u, m]) => [u, new Map(m)]));
      for (const [c, cred] of derived) {
        const m = next.get(c.user) ?? new Map<ScramMechanism, ScramCredential>();
        if (cred === null) m.delete(c.mechanism);
        else m.set(c.mechanism, cred);
        if (m.size === 0) next.delete(c.user);
        else next.set(c.user, m);
      }
      if (this.#path !== null) {
        await writeFileAtomic(this.#path, new TextEncoder().encode(serialize(next)));
      }
      this.#users.clear();
      for (const [u, m] of next) this.#users.set(u, m);
    });
    this.#writing = run.catch(() => {});
    await run;
  }
}

function serialize(users: Map<string, Map<ScramMechanism, ScramCredential>>): string {
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
