// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Producer id allocation for InitProducerId, unique across restarts.
 *
 * Like Kafka's controller, ids are handed out in blocks: the file `producer_id_block` in the data
 * directory holds the first id of the next unreserved block; reserving a block rewrites it (and
 * syncs it) before any id of the block is given out, so a crash can only skip ids, never reuse them.
 *
 * @module
 */

import { writeFileAtomic } from "../engine/mod.ts";

/** File name, in the data directory, of the next unreserved producer id block. */
export const PRODUCER_ID_BLOCK_FILE = "producer_id_block";
/** Ids reserved per write of {@linkcode PRODUCER_ID_BLOCK_FILE}. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;

/**
 * Hands out producer ids, persisting reservations in a data directory.
 *
 * @example
 * ```ts
 * import { ProducerIdManager } from "./producer_ids.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const ids = await ProducerIdManager.open(dir);
 * strictEqual(await ids.next(), 0);
 * strictEqual(await ids.next(), 1);
 * const again = await ProducerIdManager.open(dir);
 * strictEqual(await again.next(), 1000);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ProducerIdManager {
  readonly #reserveBlock: (from: number) => Promise<{ start: number; end: number }>;
  #next: number;
  #blockEnd: number;
  #reserving: Promise<void> | null = null;

  private constructor(
    next: number,
    reserveBlock: (from: number) => Promise<{ start: number; end: number }>,
  ) {
    this.#next = next;
    this.#blockEnd = next;
    this.#reserveBlock = reserveBlock;
  }

  /**
   * An allocator whose blocks come from elsewhere (cluster mode: a counter in etcd shared by
   * every broker, so that ids are unique across the cluster).
   *
   * @example
   * ```ts
   * import { ProducerIdManager } from "./producer_ids.ts";
   * import { strictEqual } from "node:assert/strict";
   *
   * let counter = 0;
   * const ids = ProducerIdManager.fromBlocks((size) => Promise.resolve((counter += size) - size));
   * strictEqual(await ids.next(), 0);
   * ```
   *
   * @param reserve Reserves `size` ids and returns the first.
   * @returns The allocator.
   */
  static fromBlocks(reserve: (size: number) => Promise<number>): ProducerIdManager {
    return new ProducerIdManager(0, async () => {
      const start = await reserve(PRODUCER_ID_BLOCK_SIZE);
      return { start, end: start + PRODUCER_ID_BLOCK_SIZE };
    });
  }

  /**
   * Open the allocator of a data directory (needs `--allow-read --allow-write`).
   *
   * @param dir The data directory (must exist).
   * @returns The allocator.
   * @throws {Error} If the block file exists but does not hold a non-negative integer.
   */
  static async open(dir: string): Promise<ProducerIdManager> {
    const file = `${dir}/${PRODUCER_ID_BLOCK_FILE}`;
    let next = 0;
    try {
      const text = (await Deno.readTextFile(file)).trim();
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
        throw new Error(`Cannot read producer id block ${file}: "${text}" is not a number`);
      }
      next = Number(text);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return new ProducerIdManager(next, async (from) => {
      const end = from + PRODUCER_ID_BLOCK_SIZE;
      // file and directory fsynced: after a power loss the reservation is still there
      await writeFileAtomic(file, new TextEncoder().encode(`${end}\n`));
      return { start: from, end };
    });
  }

  /**
   * Allocate a new producer id.
   *
   * @returns A producer id never returned before from this directory.
   * @throws {Error} If the reservation cannot be written.
   */
  async next(): Promise<number> {
    while (this.#next >= this.#blockEnd) {
      if (this.#reserving === null) {
        this.#reserving = this.#reserve().finally(() => (this.#reserving = null));
      }
      await this.#reserving;
    }
    return this.#next++;
  }

  async #reserve(): Promise<void> {
    const { start, end } = await this.#reserveBlock(this.#blockEnd);
    this.#next = start;
    this.#blockEnd = end;
  }
}
