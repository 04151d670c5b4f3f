// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Sluice: a Kafka-compatible streaming broker for Deno, and the client it is built on.
 *
 * Embed a broker in a program or a test suite:
 *
 * ```ts
 * import { Admin, Broker, Client, Consumer, Producer } from "@sluice/sluice";
 *
 * const dir = await Deno.makeTempDir();
 * const broker = await Broker.start({
 *   listeners: "PLAINTEXT://127.0.0.1:0",
 *   logDirs: [dir],
 *   logLevel: "silent",
 * });
 * const client = new Client({ bootstrapServers: `127.0.0.1:${broker.port}` });
 * await new Admin(client).createTopics([{ name: "greetings", numPartitions: 1 }]);
 *
 * const producer = new Producer(client);
 * await producer.send({
 *   topic: "greetings",
 *   messages: [{ key: "k", value: "hello" }],
 * });
 *
 * const consumer = new Consumer(client);
 * await consumer.assign([{ topic: "greetings", partition: 0, offset: "earliest" }]);
 * for await (const record of consumer) {
 *   console.log(new TextDecoder().decode(record.value!)); // "hello"
 *   break;
 * }
 *
 * await consumer.close();
 * await producer.close();
 * await client.close();
 * await broker.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * The storage engine alone (no network) is {@linkcode LogManager}; sub-paths `./engine`,
 * `./server`, `./client`, `./protocol` and `./wasm` expose each layer.
 *
 * Permissions: the broker needs `--allow-net`, `--allow-read` and `--allow-write` (its data
 * directory) and `--allow-env`; the client needs `--allow-net`.
 *
 * @module
 */

export * from "./client/mod.ts";
export {
  Broker,
  type BrokerConfig,
  brokerConfigFrom,
  loadBrokerConfig,
  parsePropertiesFile,
} from "./server/mod.ts";
export {
  type AppendResult,
  EngineError,
  LogManager,
  type LogManagerOptions,
  PartitionLog,
  type ReadResult,
  type TopicInfo,
} from "./engine/mod.ts";
