// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The documents shard 0 keeps for every shard of a sharded broker (`sluice.workers` > 1,
 * ARCHITECTURE.md "Shards"): the ACLs and the SCRAM credentials. Every shard authorizes the
 * requests it serves and authenticates the SASL connections that land on it, so each needs
 * them; only shard 0 changes them (CreateAcls, DeleteAcls and AlterUserScramCredentials are
 * shard 0's requests) and stores them in its directory.
 *
 * - Shard 0 wraps its file storage ({@linkcode ShardDocuments.leader}): a change is stored,
 *   then sent to every other shard, and `update` resolves once each applied it, so the request
 *   that changed it is answered after every shard has it (as the topic table and the client
 *   quotas).
 * - Another shard's storage ({@linkcode ShardDocuments.follower}) starts from the document
 *   shard 0 handed to its worker at start and follows shard 0's changes as cluster mode's etcd
 *   storages follow a watched key (`watch`); it refuses changes of its own.
 *
 * @module
 */

import type { DocumentStorage } from "./document_store.ts";

/** The documents shards share. */
export type ShardDocumentName = "acls" | "scram";

/** Every shared document as shard 0 holds it, for a starting shard. */
export type ShardDocumentSnapshot = Partial<Record<ShardDocumentName, unknown>>;

/** Sends a document to every other shard; resolves once each applied it. */
export type ShardDocumentSend = (name: ShardDocumentName, doc: unknown) => Promise<void>;

/**
 * One shard's side of the shared documents.
 *
 * @example
 * ```ts
 * import { ShardDocuments } from "./shard_documents.ts";
 *
 * // another shard: starts from shard 0's document, follows its changes
 * const docs = new ShardDocuments({ acls: ["a"] });
 * const storage = docs.follower<string[]>("acls", "shard 0's ACLs", () => []);
 * const seen: string[][] = [];
 * await storage.watch!((doc) => seen.push(doc));
 * console.assert((await storage.load())[0] === "a");
 * docs.apply("acls", ["a", "b"]);
 * console.assert(seen[0].length === 2);
 * ```
 */
export class ShardDocuments {
  readonly #initial: ShardDocumentSnapshot;
  readonly #latest = new Map<ShardDocumentName, unknown>();
  readonly #followers = new Map<ShardDocumentName, (doc: unknown) => void>();
  #send: ShardDocumentSend | undefined;

  /**
   * @param initial Another shard: shard 0's documents at its start (none on shard 0).
   */
  constructor(initial: ShardDocumentSnapshot = {}) {
    this.#initial = initial;
  }

  /**
   * Shard 0: how documents reach the other shards (the shard router), set once it exists.
   *
   * @param send Sends one to every other shard.
   */
  connect(send: ShardDocumentSend): void {
    this.#send = send;
  }

  /**
   * Shard 0: its documents as last stored, for a shard starting now.
   *
   * @returns Each document loaded or changed so far.
   */
  snapshot(): ShardDocumentSnapshot {
    return Object.fromEntries(this.#latest);
  }

  /**
   * Shard 0: `inner` (its file), each change sent to every other shard before `update`
   * resolves.
   *
   * @param name The document.
   * @param inner Where shard 0 keeps it.
   * @returns The storage to open the authorizer or the credential store with.
   */
  leader<T>(name: ShardDocumentName, inner: DocumentStorage<T>): DocumentStorage<T> {
    return {
      description: inner.description,
      load: async () => {
        const doc = await inner.load();
        this.#latest.set(name, doc);
        return doc;
      },
      update: async (edit) => {
        const doc = await inner.update(edit);
        this.#latest.set(name, doc);
        // stored: every shard applies it before the change is answered
        await this.#send?.(name, doc);
        return doc;
      },
      close: () => inner.close?.(),
    };
  }

  /**
   * Another shard: the document shard 0 handed over at start, then shard 0's changes.
   *
   * @param name The document.
   * @param description What it is, for messages.
   * @param empty The document when shard 0 handed none over.
   * @returns The storage to open the authorizer or the credential store with.
   */
  follower<T>(name: ShardDocumentName, description: string, empty: () => T): DocumentStorage<T> {
    return {
      description,
      load: () => Promise.resolve((this.#initial[name] as T | undefined) ?? empty()),
      update: () =>
        Promise.reject(
          new Error(`${description} change on shard 0 only (sluice.workers), not on this shard`),
        ),
      watch: (onChange) => {
        this.#followers.set(name, onChange as (doc: unknown) => void);
        return Promise.resolve();
      },
      close: () => this.#followers.delete(name),
    };
  }

  /**
   * Another shard: shard 0 changed a document (the router received it).
   *
   * @param name The document.
   * @param doc Its new contents.
   */
  apply(name: ShardDocumentName, doc: unknown): void {
    this.#followers.get(name)?.(doc);
  }
}
