/**
 * Sluice's Kafka client: a cluster {@linkcode Client} (connections, metadata), a
 * {@linkcode Producer} with the Java client's default partitioner, a simple {@linkcode Consumer}
 * and an {@linkcode Admin} client, plus record batch v2 encoding and decoding.
 *
 * @example Produce and consume
 * ```ts ignore
 * import { Admin, Client, Consumer, Producer } from "./mod.ts";
 *
 * const client = new Client({ bootstrapServers: "localhost:9092" });
 * await new Admin(client).createTopics([{ name: "teste", numPartitions: 1 }]);
 * const producer = new Producer(client);
 * await producer.send({ topic: "teste", messages: [{ value: "Teste123" }, { value: "123" }] });
 * const consumer = new Consumer(client, { fromBeginning: true });
 * await consumer.assign([{ topic: "teste", partition: 0 }]);
 * const records = await consumer.poll();
 * console.log(records.map((r) => new TextDecoder().decode(r.value!))); // ["Teste123", "123"]
 * await client.close();
 * ```
 *
 * @module
 */

export { KafkaError } from "../protocol/errors.ts";
export type { MessageCodec, Reader, Writer } from "../protocol/primitives.ts";
export * from "./client.ts";
export * from "./connection.ts";
export * from "./tls.ts";
export * from "./sasl.ts";
export {
  type EpochBump,
  type MessageData,
  Producer,
  type ProducerMessage,
  type ProducerOptions,
  type ProducerRecord,
  type RecordMetadata,
} from "./producer.ts";
export {
  type ConsumerGroupMetadata,
  ProducerFencedError,
  type TransactionOffset,
  type TransactionState,
} from "./transaction_manager.ts";
export * from "./consumer.ts";
export * from "./group_consumer.ts";
export * from "./assignors.ts";
export * from "./admin.ts";
export * from "./acls.ts";
export * from "./partitioner.ts";
export * from "./murmur2.ts";
export * from "./records.ts";
