/**
 * What a `read_committed` consumer does with a fetch response's aborted transactions (Kafka's
 * `CompletedFetch`): the records of a transaction that was aborted are dropped, from its first
 * offset to its ABORT marker.
 *
 * @module
 */

import { attributesAt, CONTROL_BIT, lastOffsetAt, producerIdAt } from "./layout.ts";
import { ControlRecordType, controlRecordTypeOf } from "./control.ts";

/** One aborted transaction of a fetch response (producer id, first offset). */
export interface AbortedTransaction {
  /** The producer of the aborted transaction. */
  producerId: number;
  /** The transaction's first offset in the partition. */
  firstOffset: number;
}

/**
 * Decides, batch after batch of one partition's fetched data, which transactional batches
 * belong to an aborted transaction; use as `decodeRecordsInto`'s `skipBatch`.
 *
 * @example
 * ```ts
 * import { AbortedTransactionFilter } from "./aborted_transactions.ts";
 * import { buildControlBatch } from "./control.ts";
 * const filter = new AbortedTransactionFilter([{ producerId: 7, firstOffset: 0 }]);
 * const marker = buildControlBatch({ producerId: 7, producerEpoch: 0, commit: false });
 * console.assert(filter.skip(marker, 0)); // a marker is never returned
 * ```
 */
export class AbortedTransactionFilter {
  #pending: AbortedTransaction[];
  #next = 0;
  #aborted = new Set<number>();

  /**
   * Creates the filter for one partition of one fetch response.
   *
   * @param aborted The partition's `aborted_transactions`, in any order.
   */
  constructor(aborted: readonly AbortedTransaction[]) {
    this.#pending = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /**
   * Whether to drop the transactional batch at `pos` (batches must come in log order).
   *
   * @param data The fetched bytes.
   * @param pos Where the batch starts.
   * @returns `true` for a control batch or a batch of an aborted transaction.
   * @throws {RecordsError} `CORRUPT_MESSAGE` for a control batch without a control record.
   */
  skip(data: Uint8Array, pos: number): boolean {
    const lastOffset = lastOffsetAt(data, pos);
    while (
      this.#next < this.#pending.length && this.#pending[this.#next].firstOffset <= lastOffset
    ) {
      this.#aborted.add(this.#pending[this.#next++].producerId);
    }
    const producerId = producerIdAt(data, pos);
    if ((attributesAt(data, pos) & CONTROL_BIT) !== 0) {
      if (controlRecordTypeOf(data, pos) === ControlRecordType.ABORT) {
        this.#aborted.delete(producerId);
      }
      return true;
    }
    return this.#aborted.has(producerId);
  }
}
