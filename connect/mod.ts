// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Sluice Connect: Kafka Connect for Deno, built on Sluice's client. A worker runs source and
 * sink connectors written against Kafka Connect's interfaces ({@linkcode SourceConnector},
 * {@linkcode SourceTask}, {@linkcode SinkConnector}, {@linkcode SinkTask}), converts records
 * with Kafka's converters (`StringConverter`, `JsonConverter`, `ByteArrayConverter`), applies
 * single-message transforms (`InsertField`, `MaskField`, `ReplaceField`, `RegexRouter`) with
 * predicates, handles record errors as Kafka's `errors.*` settings say (tolerance, retries, a
 * sink's dead-letter queue) and serves Kafka Connect's REST API. Connectors in the box: file
 * and stdin/stdout (Kafka's `connect-file`), an HTTP sink, a PostgreSQL sink and source.
 *
 * @example The file quickstart in standalone mode
 * ```ts ignore
 * import { startStandalone } from "./mod.ts";
 *
 * const worker = await startStandalone({
 *   worker: {
 *     "bootstrap.servers": "localhost:9092",
 *     "offset.storage.file.filename": "/tmp/connect.offsets",
 *     "listeners": "http://127.0.0.1:8083",
 *   },
 *   connectors: [{
 *     name: "local-file-source",
 *     "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
 *     file: "test.txt",
 *     topic: "connect-test",
 *   }],
 * });
 * // curl http://127.0.0.1:8083/connectors/local-file-source/status
 * await worker.stop();
 * ```
 *
 * @module
 */

export * from "./api.ts";
export * from "./data.ts";
export * from "./config.ts";
export * from "./converters.ts";
export * from "./transforms.ts";
export * from "./predicates.ts";
export * from "./errors.ts";
export { FileOffsetStore, type OffsetEntry, offsetKey, type OffsetStore } from "./offset_store.ts";
export * from "./plugins.ts";
export {
  CONNECTOR_CONFIG,
  type Log,
  type State,
  type Status,
  type StatusListener,
  type TargetState,
  type TaskId,
  validateConnectorConfig,
  Worker,
  type WorkerOptions,
} from "./worker.ts";
export {
  checkedConfig,
  type ConnectorInfo,
  type ConnectorStateInfo,
  ConnectRestError,
  type Herder,
  notFound,
  type RestartOptions,
  stateInfo,
  StatusStore,
  typeOf,
} from "./herder.ts";
export * from "./rest.ts";
export {
  type ConnectRuntime,
  type DistributedOptions,
  restListener,
  type StandaloneOptions,
  startDistributed,
  startStandalone,
} from "./runtime.ts";
export * from "./connectors/file.ts";
export * from "./connectors/stdio.ts";
export * from "./connectors/http_sink.ts";
export * from "./connectors/postgres_sink.ts";
export * from "./connectors/postgres_source.ts";
