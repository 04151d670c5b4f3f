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
 * The Processor API (Kafka 3.x's `processor.api`): {@linkcode KStream.process} runs a
 * {@linkcode Processor} per task with key-value stores added by
 * {@linkcode StreamsBuilder.addStateStore} and punctuators by stream time or wall-clock time;
 * `deserializationExceptionHandler: "logAndContinue"` skips records that do not deserialize.
 *
 * @example A processor that counts per key and emits the counts every minute of stream time
 * ```ts
 * import {
 *   type ProcessorContext,
 *   PunctuationType,
 *   Serdes,
 *   Stores,
 *   StreamsBuilder,
 *   TopologyTestDriver,
 * } from "./mod.ts";
 *
 * const builder = new StreamsBuilder();
 * builder.addStateStore(
 *   Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("counts"), Serdes.String(), Serdes.Int64()),
 * );
 * builder.stream<string, string>("clicks")
 *   .process<string, number>(() => {
 *     let context: ProcessorContext<string, number>;
 *     return {
 *       init(ctx) {
 *         context = ctx;
 *         ctx.schedule(60_000, PunctuationType.STREAM_TIME, (time) => {
 *           for (const [key, value] of ctx.getStateStore<string, number>("counts").all()) {
 *             ctx.forward({ key, value, timestamp: time });
 *           }
 *         });
 *       },
 *       process(record) {
 *         const counts = context.getStateStore<string, number>("counts");
 *         counts.put(record.key, (counts.get(record.key) ?? 0) + 1);
 *       },
 *     };
 *   }, "counts")
 *   .to("click-counts", { valueSerde: Serdes.Int64() });
 *
 * const driver = new TopologyTestDriver(builder.build(), {
 *   defaultKeySerde: Serdes.String(),
 *   defaultValueSerde: Serdes.String(),
 *   deserializationExceptionHandler: "logAndContinue",
 * });
 * const clicks = driver.createInputTopic("clicks", Serdes.String(), Serdes.String());
 * clicks.pipeInput("home", "x", 0); // the first record fires the punctuator (aligned to 0)
 * clicks.pipeInput("home", "x", 30_000);
 * clicks.pipeInput("cart", "x", 60_000);
 * const out = driver.createOutputTopic("click-counts", Serdes.String(), Serdes.Int64());
 * console.assert(
 *   JSON.stringify(out.readKeyValuesToList()) === '[["home",1],["cart",1],["home",2]]',
 * );
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
export type { ForeignKeyJoinOptions } from "./fk_join.ts";
export type {
  ReadOnlyVersionedKeyValueStore,
  VersionedOptions,
  VersionedRecord,
} from "./versioned.ts";
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
  type SinkOptions,
  type SourceOptions,
  StreamsBuilder,
  TimeWindowedKStream,
  Topology,
} from "./topology.ts";
export {
  type HostInfo,
  KafkaStreams,
  type KeyQueryMetadata,
  type ProcessingGuarantee,
  type StateRestoreListener,
  type StreamsConfig,
  type StreamsMetadata,
  type StreamsMetrics,
  type StreamsState,
  type TopicPartition,
} from "./kafka_streams.ts";
export type { ReadOnlyKeyValueStore, ReadOnlyWindowStore } from "./stores.ts";
export {
  type Cancellable,
  type FixedKeyProcessor,
  type FixedKeyProcessorContext,
  type FixedKeyProcessorSupplier,
  type FixedKeyRecord,
  type KeyValueBytesStoreSupplier,
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  type ProcessorRecord,
  type ProcessorSupplier,
  PunctuationType,
  type Punctuator,
  type RecordMetadata,
  type StoreBuilder,
  Stores,
  type ValueTransformerWithKey,
} from "./processor.ts";
export {
  type DeserializationErrorContext,
  type DeserializationExceptionHandler,
  type DeserializationExceptionHandlerConfig,
  DeserializationFailedError,
  type DeserializationHandlerResponse,
} from "./deserialization.ts";
export {
  type ConsumedRecord,
  type TimestampExtractor,
  TimestampExtractors,
} from "./timestamp_extractor.ts";
export {
  type ChangelogRecord,
  type TestDriverConfig,
  type TestInputTopic,
  type TestOutputTopic,
  type TestRecord,
  TopologyTestDriver,
} from "./test_driver.ts";
