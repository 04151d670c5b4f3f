// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Sluice Streams: Kafka Streams for Deno, on Sluice's client. Build a topology with
 * {@linkcode StreamsBuilder} (streams, tables, stateless operations, aggregations over keys,
 * time windows and sessions, re-grouped tables with subtractors, stream and table joins), then
 * run it with {@linkcode KafkaStreams}: instances sharing an application id split the input
 * partitions through the consumer-group protocol;
 * state stores live in memory or on disk, backed by compacted changelog topics and restored
 * when a task moves; results are committed at least once or exactly once (transactions with
 * the input offsets, as Kafka's `exactly_once_v2`).
 *
 * @example Word count (Kafka's WordCountDemo)
 * ```ts ignore
 * import { KafkaStreams, Serdes, StreamsBuilder } from "@sluice/sluice/streams";
 *
 * const builder = new StreamsBuilder();
 * builder.stream<string, string>("streams-plaintext-input")
 *   .flatMapValues((line) => line.toLowerCase().split(/\W+/).filter((w) => w !== ""))
 *   .groupBy((_key, word) => word)
 *   .count({ storeName: "counts-store" })
 *   .toStream()
 *   .to("streams-wordcount-output", { valueSerde: Serdes.Int64() });
 *
 * const streams = new KafkaStreams(builder.build(), {
 *   applicationId: "streams-wordcount",
 *   bootstrapServers: "localhost:9092",
 *   defaultKeySerde: Serdes.String(),
 *   defaultValueSerde: Serdes.String(),
 * });
 * await streams.start();
 * console.log(streams.store<string, number>("counts-store").get("streams"));
 * await streams.close();
 * ```
 *
 * Permissions: `--allow-net`; persistent stores also `--allow-read` and `--allow-write` on
 * `stateDir` (`--allow-env` for its default under `TMPDIR`).
 *
 * @module
 */

export { type Serde, SerdeError, Serdes } from "./serdes.ts";
export { BufferConfig, Suppressed } from "./suppressed.ts";
export { KGroupedTable } from "./table_ops.ts";
export {
  JoinWindows,
  SessionWindows,
  TimeWindows,
  type Window,
  type Windowed,
  WindowedSerdes,
} from "./windows.ts";
export {
  type Branched,
  BranchedKStream,
  type Consumed,
  type Grouped,
  type Joined,
  KGroupedStream,
  KStream,
  KTable,
  type Materialized,
  type Produced,
  SessionWindowedKStream,
  StreamsBuilder,
  TimeWindowedKStream,
  Topology,
} from "./topology.ts";
export {
  KafkaStreams,
  type ProcessingGuarantee,
  type StreamsConfig,
  type StreamsMetrics,
  type StreamsState,
} from "./kafka_streams.ts";
export type { ReadOnlyKeyValueStore, ReadOnlyWindowStore } from "./stores.ts";
export {
  type ChangelogRecord,
  type TestDriverConfig,
  type TestInputTopic,
  type TestOutputTopic,
  type TestRecord,
  TopologyTestDriver,
} from "./test_driver.ts";
