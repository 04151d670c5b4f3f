// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * One JSON document the broker keeps durably and, in cluster mode, shares with every broker: the
 * client quotas (`quotas.ts`), the SCRAM credentials (`security/scram_credentials.ts`) and the ACLs
 * (`security/authorizer.ts`). Each names its document's {@linkcode DocumentFormat} (how to parse
 * and serialise it, what it holds) and where it is:
 *
 * - standalone, a file of the data directory ({@linkcode FileDocumentStorage}), replaced
 *   atomically on every change (temporary file, fsync, rename, fsync of the directory), so a
 *   change that was answered survives a crash;
 * - in cluster mode, one etcd key ({@linkcode EtcdDocumentStorage}), changed by compare-and-swap
 *   on the key's revision (retried until no other writer got between) and watched by every broker.
 *
 * @module
 */

import { writeFileAtomic } from "../engine/mod.ts";
import type { EtcdClient, Watch } from "./cluster/etcd.ts";

/** How a stored document is read and written. */
export interface DocumentFormat<T> {
  /** What the document holds, for messages (`client quotas`, `ACLs`). */
  readonly what: string;
  /** The document when nothing is stored. */
  empty(): T;
  /**
   * The document of its stored text.
   *
   * @throws {Error} If the text is malformed (the message says why).
   */
  parse(text: string): T;
  /** The stored text of a document. */
  serialize(doc: T): string;
  /** A copy `edit` may change in place (absent: `edit` gets the document itself). */
  copy?(doc: T): T;
  /** A file that cannot be read is `cannot read <what> from <path>` (else `cannot read <path>`). */
  readonly fileErrorNamesWhat?: boolean;
}

/** Where a document is kept: a file of the data directory, or a key of etcd. */
export interface DocumentStorage<T> {
  /** What the storage is, for messages. */
  readonly description: string;
  /**
   * Read the document (none stored: the empty one).
   *
   * @throws {Error} If it cannot be read or is malformed.
   */
  load(): Promise<T>;
  /**
   * Replace the document by `edit(current)` durably, `current` being what is stored now (another
   * broker may have changed it since the last read; `edit` may then run more than once).
   *
   * @returns The stored document.
   */
  update(edit: (current: T) => T): Promise<T>;
  /** Follow changes made elsewhere (cluster mode); storages without other writers lack it. */
  watch?(onChange: (doc: T) => void): Promise<void>;
  /** Stop following changes. */
  close?(): void;
}

/** A document in a file (standalone broker), written atomically. */
export class FileDocumentStorage<T> implements DocumentStorage<T> {
  readonly #path: string;
  readonly #format: DocumentFormat<T>;
  #current: T;

  /**
   * A document in a file.
   *
   * @param path The file (`<data dir>/sluice-....json`).
   * @param format How the document is read and written.
   */
  constructor(path: string, format: DocumentFormat<T>) {
    this.#path = path;
    this.#format = format;
    this.#current = format.empty();
  }

  /** The file. */
  get description(): string {
    return this.#path;
  }

  /** Read the file (none: the empty document). Needs `--allow-read`. */
  async load(): Promise<T> {
    const failed = (e: unknown) =>
      new Error(
        `cannot read ${
          this.#format.fileErrorNamesWhat ? `${this.#format.what} from ` : ""
        }${this.#path}: ${e instanceof Error ? e.message : e}`,
      );
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return this.#current = this.#format.empty();
      throw failed(e);
    }
    try {
      return this.#current = this.#format.parse(text);
    } catch (e) {
      throw failed(e);
    }
  }

  /** Write the new document atomically. Needs `--allow-write`. */
  async update(edit: (current: T) => T): Promise<T> {
    const next = edit(this.#format.copy?.(this.#current) ?? this.#current);
    await writeFileAtomic(this.#path, new TextEncoder().encode(this.#format.serialize(next)));
    return this.#current = next;
  }
}

/** A document of a cluster in one etcd key every broker watches (compare-and-swap). */
export class EtcdDocumentStorage<T> implements DocumentStorage<T> {
  readonly #etcd: EtcdClient;
  readonly #key: string;
  readonly #format: DocumentFormat<T>;
  #revision = 0;
  /** The revision of the last write or read here: older watch events are stale. */
  #seen = 0;
  #watch: Watch | undefined;

  /**
   * A document of a cluster.
   *
   * @param etcd The cluster's etcd client.
   * @param key The key (`<prefix>/<cluster>/...`).
   * @param format How the document is read and written.
   */
  constructor(etcd: EtcdClient, key: string, format: DocumentFormat<T>) {
    this.#etcd = etcd;
    this.#key = key;
    this.#format = format;
  }

  /** The key. */
  get description(): string {
    return `etcd key ${this.#key}`;
  }

  #parse(value: string | undefined): T {
    return value === undefined ? this.#format.empty() : this.#format.parse(value);
  }

  /** Read the key (absent: the empty document). */
  async load(): Promise<T> {
    const r = await this.#etcd.range(this.#key);
    this.#revision = r.revision;
    const kv = r.kvs[0];
    this.#seen = Math.max(this.#seen, kv?.modRevision ?? 0);
    try {
      return this.#parse(kv?.value);
    } catch (e) {
      throw new Error(
        `cannot read ${this.#format.what} from ${this.description}: ${(e as Error).message}`,
      );
    }
  }

  /** Compare-and-swap the key until no other writer got between. */
  async update(edit: (current: T) => T): Promise<T> {
    for (;;) {
      const kv = await this.#etcd.get(this.#key);
      const next = edit(this.#parse(kv?.value));
      const r = await this.#etcd.txn({
        compare: [
          kv === undefined
            ? { key: this.#key, target: "create", value: 0 }
            : { key: this.#key, target: "mod", value: kv.modRevision },
        ],
        success: [{ put: { key: this.#key, value: this.#format.serialize(next) } }],
      });
      if (r.succeeded) {
        this.#seen = Math.max(this.#seen, r.revision);
        return next;
      }
    }
  }

  /** Follow the key from the revision of the last load. */
  async watch(onChange: (doc: T) => void): Promise<void> {
    this.#watch = this.#etcd.watch(this.#key, {
      startRevision: this.#revision + 1,
      onEvents: (events, revision) => {
        const last = events[events.length - 1];
        // a change older than one this broker wrote (and already applied) is not news
        if (last === undefined || revision <= this.#seen) return;
        this.#seen = revision;
        onChange(last.type === "delete" ? this.#format.empty() : this.#format.parse(last.kv.value));
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
