/**
 * Test support for follower appends: a deterministic stream of record batches as a partition
 * leader would store them (offsets and partition leader epochs assigned, epochs rising), with
 * plain batches, an idempotent producer, a transactional producer and its COMMIT/ABORT markers.
 * The same seed gives the same bytes in every process, so a crash test's parent can check what
 * a SIGKILLed child wrote.
 *
 * @module
 */

import {
  buildControlBatch,
  lastOffsetAt,
  setBaseOffsetAt,
  setPartitionLeaderEpochAt,
  TRANSACTIONAL_BIT,
} from "../../records/mod.ts";
import { buildBatch } from "../../wasm/testing.ts";
import { prng } from "./helpers.ts";

/** The transactional producer of the stream. */
export const STREAM_TXN_PRODUCER = 3001;
/** The idempotent producer of the stream. */
export const STREAM_IDEMPOTENT_PRODUCER = 3002;
/** Batches per leader epoch. */
export const STREAM_BATCHES_PER_EPOCH = 53;

/**
 * The leader's batches, in offset order, forever: about 64 KiB each (markers are small).
 *
 * @param seed Seed.
 * @param baseTimestamp Timestamp of the first batch (the n-th gets `baseTimestamp + n`); recent,
 * or the loader expires the producers (`producer.id.expiration.ms`).
 * @param valueBytes Bytes per record value.
 * @yields Each batch (its own buffer) with its base offset and epoch.
 */
export function* leaderStream(
  seed: number,
  baseTimestamp: number,
  valueBytes = 1000,
): Generator<{ bytes: Uint8Array; baseOffset: number; epoch: number }> {
  const rand = prng(seed);
  let offset = 0;
  let n = 0;
  let txnOpen = false;
  let txnSeq = 0;
  let idemSeq = 0;
  const ts = baseTimestamp;
  const value = (i: number) => {
    const v = new Uint8Array(valueBytes);
    for (let j = 0; j < valueBytes; j++) v[j] = (i * 131 + j * 7 + n) & 0xff;
    return v;
  };
  for (;;) {
    const epoch = 1 + Math.floor(n / STREAM_BATCHES_PER_EPOCH);
    const r = rand();
    let bytes: Uint8Array;
    if (txnOpen && r < 0.12) {
      bytes = buildControlBatch({
        producerId: STREAM_TXN_PRODUCER,
        producerEpoch: 0,
        commit: rand() < 0.5,
        coordinatorEpoch: 0,
        timestamp: ts + n,
      });
      txnOpen = false;
    } else if (r < 0.3) {
      const count = 8;
      bytes = buildBatch({
        records: Array.from({ length: count }, (_, i) => ({ key: `t${n}/${i}`, value: value(i) })),
        producerId: STREAM_TXN_PRODUCER,
        producerEpoch: 0,
        baseSequence: txnSeq,
        attributes: TRANSACTIONAL_BIT,
        baseTimestamp: ts + n,
      });
      txnSeq += count;
      txnOpen = true;
    } else if (r < 0.5) {
      const count = 20;
      bytes = buildBatch({
        records: Array.from({ length: count }, (_, i) => ({ key: `i${n}/${i}`, value: value(i) })),
        producerId: STREAM_IDEMPOTENT_PRODUCER,
        producerEpoch: 0,
        baseSequence: idemSeq,
        baseTimestamp: ts + n,
      });
      idemSeq += count;
    } else {
      bytes = buildBatch({
        records: Array.from({ length: 63 }, (_, i) => ({ key: `p${n}/${i}`, value: value(i) })),
        baseTimestamp: ts + n,
      });
    }
    setBaseOffsetAt(bytes, 0, offset);
    setPartitionLeaderEpochAt(bytes, 0, epoch);
    yield { bytes, baseOffset: offset, epoch };
    offset = lastOffsetAt(bytes, 0) + 1;
    n++;
  }
}
