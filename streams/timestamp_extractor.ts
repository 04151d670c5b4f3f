// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Timestamp extractors (Kafka's `org.apache.kafka.streams.processor.TimestampExtractor`): which
 * time a consumed record has for Kafka Streams. The extracted time is the record's time
 * everywhere after its source: stream time, windows, stream-time punctuation, the order in
 * which a task of several topics processes its records, and the timestamp of what it writes.
 *
 * Set one for every source with `StreamsConfig.defaultTimestampExtractor` (Kafka's
 * `default.timestamp.extractor`; repartition topics excepted, read with
 * `FailOnInvalidTimestamp` as in Kafka), or for one source with `Consumed`'s
 * `timestampExtractor`.
 * A negative time skips the record (logged, counted as dropped, committed past), as Kafka's
 * `RecordQueue` does; an extractor that throws fails the task.
 *
 * @module
 */

import type { RecordHeader } from "../client/records.ts";

/**
 * A consumed record as a timestamp extractor sees it (Kafka's `ConsumerRecord<Object, Object>`
 * handed to `extract`): key and value deserialized by the source's serdes.
 */
export interface ConsumedRecord<K = unknown, V = unknown> {
  /** Topic (an internal topic by its full name). */
  readonly topic: string;
  /** Partition. */
  readonly partition: number;
  /** Offset. */
  readonly offset: number;
  /** The timestamp the record carries (producer's or broker's time); -1 when it has none. */
  readonly timestamp: number;
  /** Key. */
  readonly key: K;
  /** Value. */
  readonly value: V;
  /** Headers. */
  readonly headers: RecordHeader[];
}

/**
 * Gives a consumed record its time: `(record, partitionTime) => ms`. `partitionTime` is the
 * largest time extracted so far from the record's partition (-1 before any, or the committed
 * stream time after a restart). A negative result skips the record.
 */
export type TimestampExtractor = (record: ConsumedRecord, partitionTime: number) => number;

/** The message Kafka's `FailOnInvalidTimestamp` fails with. */
function invalid(record: ConsumedRecord): Error {
  return new Error(
    `timestamp extractor: input record ${record.topic}-${record.partition}@${record.offset} ` +
      `has invalid (negative) timestamp ${record.timestamp}: possibly written by a producer ` +
      "that embeds no timestamp; use a different TimestampExtractor to process this data",
  );
}

/**
 * Kafka's built-in timestamp extractors.
 *
 * @example Skip records without a timestamp instead of failing
 * ```ts
 * import { Serdes, StreamsBuilder, TimestampExtractors, TopologyTestDriver } from "./mod.ts";
 * const builder = new StreamsBuilder();
 * builder.stream<string, string>("in").to("out");
 * const driver = new TopologyTestDriver(builder.build(), {
 *   defaultKeySerde: Serdes.String(),
 *   defaultValueSerde: Serdes.String(),
 *   defaultTimestampExtractor: TimestampExtractors.LogAndSkipOnInvalidTimestamp,
 *   onWarning: () => {},
 * });
 * const input = driver.createInputTopic("in", Serdes.String(), Serdes.String());
 * input.pipeInput("a", "x", -1);
 * input.pipeInput("b", "y", 5);
 * const out = driver.createOutputTopic("out", Serdes.String(), Serdes.String());
 * console.assert(JSON.stringify(out.readKeyValuesToList()) === '[["b","y"]]');
 * console.assert(driver.droppedRecords === 1);
 * ```
 */
export const TimestampExtractors: {
  /** The record's own timestamp; a negative one throws (the task fails). The default. */
  readonly FailOnInvalidTimestamp: TimestampExtractor;
  /** The record's own timestamp; a negative one skips the record (with a warning). */
  readonly LogAndSkipOnInvalidTimestamp: TimestampExtractor;
  /**
   * The record's own timestamp; a negative one is replaced by the partition time, and throws
   * when that is unknown (no record of the partition yet).
   */
  readonly UsePartitionTimeOnInvalidTimestamp: TimestampExtractor;
  /** The wall-clock time of processing (`Date.now()`, as Kafka's `System.currentTimeMillis()`,
   * also under the test driver). */
  readonly WallclockTimestampExtractor: TimestampExtractor;
} = Object.freeze({
  FailOnInvalidTimestamp: (record: ConsumedRecord) => {
    if (record.timestamp < 0) throw invalid(record);
    return record.timestamp;
  },
  LogAndSkipOnInvalidTimestamp: (record: ConsumedRecord) => record.timestamp,
  UsePartitionTimeOnInvalidTimestamp: (record: ConsumedRecord, partitionTime: number) => {
    if (record.timestamp >= 0) return record.timestamp;
    if (partitionTime < 0) {
      throw new Error(
        `timestamp extractor: could not infer a timestamp for input record ${record.topic}-` +
          `${record.partition}@${record.offset} (timestamp ${record.timestamp}): the ` +
          "partition time is not known yet",
      );
    }
    return partitionTime;
  },
  WallclockTimestampExtractor: () => Date.now(),
});

/** @internal Throws as `FailOnInvalidTimestamp` does (the default's inlined check). */
export function failOnInvalidTimestamp(record: ConsumedRecord): never {
  throw invalid(record);
}

/**
 * @internal Checks an extractor option: a function, or `undefined`.
 *
 * @throws {TypeError} If it is something else.
 */
export function checkExtractor(
  extractor: unknown,
  what: string,
): TimestampExtractor | undefined {
  if (extractor === undefined || typeof extractor === "function") {
    return extractor as TimestampExtractor | undefined;
  }
  throw new TypeError(`${what}: a timestamp extractor is a function (record, partitionTime)`);
}
