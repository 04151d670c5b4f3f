// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test support for the broker: start a real {@linkcode Broker} on an ephemeral port with a temp
 * data directory, and talk to it over real TCP with the generated codecs ({@linkcode RawClient}).
 * Not exported from `mod.ts`.
 *
 * @module
 */

import {
  decodeBody,
  decodeResponseHeader,
  encodeRequestFrame,
  FrameSplitter,
} from "../protocol/framing.ts";
import type { MessageCodec } from "../protocol/primitives.ts";
import { CreateTopicsRequest, CreateTopicsResponse } from "../protocol/messages/create_topics.ts";
import { EndTxnRequest, EndTxnResponse } from "../protocol/messages/end_txn.ts";
import type { FetchRequest } from "../protocol/messages/fetch.ts";
import {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../protocol/messages/init_producer_id.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import {
  attributesAt,
  baseOffsetAt,
  batchSizeAt,
  producerIdAt,
  TRANSACTIONAL_BIT,
} from "../records/mod.ts";
import { buildBatch } from "../wasm/testing.ts";
import { Broker, type BrokerConfig } from "./broker.ts";
import {
  type AclBinding,
  AclOperation,
  AclPermissionType,
  PatternType,
  ResourceType,
} from "./security/acl.ts";
import type { Logger } from "./logger.ts";

/** A response as read by {@linkcode RawClient.receive}. */
export interface Received<T> {
  /** Correlation id from the response header. */
  correlationId: number;
  /** Decoded body. */
  body: T;
}

/**
 * A minimal Kafka client over one TCP connection: encodes request frames with the generated
 * codecs, reads response frames in order. No retries, no version negotiation.
 *
 * @example
 * ```ts ignore
 * const client = await RawClient.connect(broker.port);
 * const res = await client.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
 *   clientSoftwareName: "test", clientSoftwareVersion: "1",
 * });
 * client.close();
 * ```
 */
export class RawClient {
  readonly #conn: Deno.TcpConn;
  readonly #splitter = new FrameSplitter(1 << 30);
  readonly #frames: Uint8Array[] = [];
  readonly #buf = new Uint8Array(64 * 1024);
  #eof = false;
  #nextCorrelationId = 1;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /**
   * Connect to a broker.
   *
   * @param port The broker's port.
   * @param hostname The broker's host (default 127.0.0.1).
   * @returns The client.
   */
  static async connect(port: number, hostname = "127.0.0.1"): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname, port }));
  }

  /**
   * Send a request without waiting for its response.
   *
   * @param codec Request codec.
   * @param version API version.
   * @param body Request fields (the rest take their defaults).
   * @param correlationId Correlation id; default: the next one.
   * @returns The correlation id used.
   */
  async send<Req>(
    codec: MessageCodec<Req>,
    version: number,
    body: Partial<Req>,
    correlationId: number = this.#nextCorrelationId++,
  ): Promise<number> {
    await this.sendRaw(
      encodeRequestFrame(codec, version, correlationId, "sluice-test", codec.create(body)),
    );
    return correlationId;
  }

  /**
   * Write raw bytes to the socket.
   *
   * @param bytes The bytes.
   */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  /**
   * Read the next response frame (without its size prefix).
   *
   * @returns The frame, or null if the broker closed the connection.
   */
  async readFrame(): Promise<Uint8Array | null> {
    for (;;) {
      const f = this.#frames.shift();
      if (f !== undefined) return f;
      if (this.#eof) return null;
      let n: number | null;
      try {
        n = await this.#conn.read(this.#buf);
      } catch (e) {
        if (e instanceof Deno.errors.ConnectionReset) n = null;
        else throw e;
      }
      if (n === null) {
        this.#eof = true;
        continue;
      }
      for (const frame of this.#splitter.push(this.#buf.slice(0, n))) this.#frames.push(frame);
    }
  }

  /**
   * Read and decode the next response.
   *
   * @param codec Response codec.
   * @param version API version of the request it answers.
   * @returns The correlation id and body.
   * @throws {Error} If the connection closed first.
   */
  async receive<Res>(codec: MessageCodec<Res>, version: number): Promise<Received<Res>> {
    const frame = await this.readFrame();
    if (frame === null) throw new Error(`receive ${codec.name} failed: connection closed`);
    const { header, bodyOffset } = decodeResponseHeader(frame, codec.apiKey, version);
    return {
      correlationId: header.correlationId,
      body: decodeBody(codec, frame, bodyOffset, version),
    };
  }

  /**
   * Send a request and read its response, checking the correlation id.
   *
   * @param req Request codec.
   * @param res Response codec.
   * @param version API version.
   * @param body Request fields.
   * @returns The response body.
   */
  async request<Req, Res>(
    req: MessageCodec<Req>,
    res: MessageCodec<Res>,
    version: number,
    body: Partial<Req>,
  ): Promise<Res> {
    const id = await this.send(req, version, body);
    const got = await this.receive(res, version);
    if (got.correlationId !== id) {
      throw new Error(`${req.name}: expected correlation id ${id}, got ${got.correlationId}`);
    }
    return got.body;
  }

  /**
   * Wait until the broker closes the connection; fails if a frame arrives first.
   *
   * @returns Resolves on close.
   */
  async expectClosed(): Promise<void> {
    const frame = await this.readFrame();
    if (frame !== null) throw new Error(`expected the connection to close, got a frame`);
  }

  /** Close the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** A broker plus its temp data directory; dispose to stop it and delete the directory. */
export interface TestBroker extends AsyncDisposable {
  /** The broker. */
  broker: Broker;
  /** Its data directory. */
  dir: string;
  /** Log lines written by the broker. */
  lines: string[];
}

/**
 * Start a broker on 127.0.0.1 with an ephemeral port and a fresh temp data directory, a
 * one-partition `__consumer_offsets` and no initial rebalance delay. Log lines are captured in
 * `lines` instead of printed.
 *
 * @param config Overrides.
 * @returns The broker; `await using` it, or call `[Symbol.asyncDispose]()`.
 */
export async function startTestBroker(config: Partial<BrokerConfig> = {}): Promise<TestBroker> {
  const dir = config.logDirs?.[0] ?? await Deno.makeTempDir({ prefix: "sluice-server-test-" });
  const lines: string[] = [];
  const capture = (level: string) => (m: string) => lines.push(`${level} ${m}`);
  const logger: Logger = {
    debug: capture("DEBUG"),
    info: capture("INFO"),
    warn: capture("WARN"),
    error: capture("ERROR"),
  };
  const broker = await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    logger,
    offsetsTopicNumPartitions: 1,
    groupInitialRebalanceDelayMs: 0,
    ...config,
    logDirs: [dir],
  });
  return {
    broker,
    dir,
    lines,
    async [Symbol.asyncDispose]() {
      await broker.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** The all-zero topic id, for requests that name topics. */
export const NO_TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAA";

/**
 * A Produce request body for one partition.
 *
 * @param topic Topic.
 * @param partition Partition.
 * @param records Record batch bytes.
 * @param acks Acks (default 1).
 * @returns The body.
 */
export function produceBody(
  topic: string,
  partition: number,
  records: Uint8Array | null,
  acks = 1,
): Partial<ProduceRequest> {
  return {
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  };
}

/** One partition of {@linkcode fetchBody}. */
export interface FetchTarget {
  /** Topic name (or "" with `topicId`). */
  topic: string;
  /** Topic id (v13+). */
  topicId?: string;
  /** Partition. */
  partition: number;
  /** Offset to fetch from. */
  offset: number;
  /** partition_max_bytes (default 1 MiB). */
  maxBytes?: number;
}

/**
 * A Fetch request body.
 *
 * @param targets Partitions, grouped by topic in order.
 * @param options Request-level fields.
 * @returns The body.
 */
export function fetchBody(
  targets: FetchTarget[],
  options: Partial<FetchRequest> = {},
): Partial<FetchRequest> {
  const topics: FetchRequest["topics"] = [];
  for (const t of targets) {
    let last = topics[topics.length - 1];
    if (
      last === undefined || last.topic !== t.topic || last.topicId !== (t.topicId ?? NO_TOPIC_ID)
    ) {
      last = { topic: t.topic, topicId: t.topicId ?? NO_TOPIC_ID, partitions: [] };
      topics.push(last);
    }
    last.partitions.push({
      partition: t.partition,
      currentLeaderEpoch: -1,
      fetchOffset: t.offset,
      lastFetchedEpoch: -1,
      logStartOffset: -1,
      partitionMaxBytes: t.maxBytes ?? 1 << 20,
      replicaDirectoryId: NO_TOPIC_ID,
    });
  }
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 50 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics,
    forgottenTopicsData: [],
    ...options,
  };
}

/**
 * Create a topic through CreateTopics v7 and check it worked.
 *
 * @param client A connected client.
 * @param name Topic name.
 * @param partitions Partition count.
 * @param configs Topic configs.
 * @returns The topic id.
 */
export async function createTopic(
  client: RawClient,
  name: string,
  partitions = 1,
  configs: Record<string, string> = {},
): Promise<string> {
  const res = await client.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
    topics: [{
      name,
      numPartitions: partitions,
      replicationFactor: 1,
      assignments: [],
      configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
    }],
    timeoutMs: 5000,
  });
  const r = res.topics[0];
  if (r.errorCode !== 0) {
    throw new Error(`create topic ${name} failed: error ${r.errorCode}: ${r.errorMessage}`);
  }
  return r.topicId;
}

/**
 * An ALLOW ACL for `User:ANONYMOUS` (what a PLAINTEXT client is) from any host.
 *
 * @param resourceType The resource type (`ResourceType`).
 * @param resourceName The resource's name (`kafka-cluster` for the cluster), or its prefix.
 * @param operation The operation allowed (`AclOperation`).
 * @param patternType LITERAL (default) or PREFIXED.
 * @returns The binding.
 */
export function allowAnonymous(
  resourceType: number,
  resourceName: string,
  operation: number,
  patternType: number = PatternType.LITERAL,
): AclBinding {
  return {
    resourceType,
    resourceName,
    patternType,
    principal: "User:ANONYMOUS",
    host: "*",
    operation,
    permissionType: AclPermissionType.ALLOW,
  };
}

/**
 * Deletes the broker's ACLs on a resource (by default every ACL), whoever they name.
 *
 * @param broker A broker with the ACL authorizer.
 * @param resourceType The resource type (default ANY).
 * @param resourceName The resource's name, or `null` for any (the default).
 * @param patternType The pattern type (default ANY).
 */
export async function revokeAcls(
  broker: Broker,
  resourceType: number = ResourceType.ANY,
  resourceName: string | null = null,
  patternType: number = PatternType.ANY,
): Promise<void> {
  await broker.authorizer!.deleteAcls([{
    resourceType,
    resourceName,
    patternType,
    principal: null,
    host: null,
    operation: AclOperation.ANY,
    permissionType: AclPermissionType.ANY,
  }]);
}

/** A broker with the ACL authorizer and topics made before any ACL applies. */
export interface AclTestBroker extends AsyncDisposable {
  /** The test broker. */
  tb: TestBroker;
  /** The broker. */
  broker: Broker;
  /** A client connected as `User:ANONYMOUS` (closed with the broker). */
  client: RawClient;
  /** The id of each topic made. */
  topicIds: Record<string, string>;
}

/**
 * Starts a broker with the ACL authorizer (`sluice.acl`), creates `topics` as `User:ANONYMOUS`
 * (granted CLUSTER CREATE for that), then deletes every ACL: the tests start from nothing
 * allowed.
 *
 * @param topics Topic name to partition count, created in this order.
 * @param config More broker settings.
 * @returns The broker and a connected client; `await using` it.
 */
export async function startAclBroker(
  topics: Record<string, number>,
  config: Partial<BrokerConfig> = {},
): Promise<AclTestBroker> {
  const tb = await startTestBroker({ ...config, authorizerClassName: "sluice.acl" });
  await tb.broker.authorizer!.createAcls([
    allowAnonymous(ResourceType.CLUSTER, "kafka-cluster", AclOperation.CREATE),
  ]);
  const client = await RawClient.connect(tb.broker.port);
  const topicIds: Record<string, string> = {};
  for (const [name, partitions] of Object.entries(topics)) {
    topicIds[name] = await createTopic(client, name, partitions);
  }
  await revokeAcls(tb.broker);
  return {
    tb,
    broker: tb.broker,
    client,
    topicIds,
    async [Symbol.asyncDispose]() {
      client.close();
      await tb[Symbol.asyncDispose]();
    },
  };
}

/** A transactional producer as its coordinator knows it (the ids of a transactional request). */
export interface TxnProducerIds {
  /** Transactional id. */
  transactionalId: string;
  /** Producer id. */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
}

/**
 * InitProducerId (v4) for a transactional id, with no producer id yet.
 *
 * @param client The connection.
 * @param transactionalId Transactional id.
 * @param transactionTimeoutMs Transaction timeout (default 60000).
 * @returns The producer's ids.
 * @throws {Error} If the coordinator answers an error.
 */
export async function initTransactionalProducer(
  client: RawClient,
  transactionalId: string,
  transactionTimeoutMs = 60_000,
): Promise<TxnProducerIds> {
  const res = await client.request(InitProducerIdRequest, InitProducerIdResponse, 4, {
    transactionalId,
    transactionTimeoutMs,
    producerId: -1,
    producerEpoch: -1,
  });
  if (res.errorCode !== 0) {
    throw new Error(`init producer id of ${transactionalId} failed: error ${res.errorCode}`);
  }
  return { transactionalId, producerId: res.producerId, producerEpoch: res.producerEpoch };
}

/**
 * Produce (v9, acks 1) of one transactional batch of `producer` to a partition.
 *
 * @param client The connection.
 * @param producer The producer's ids.
 * @param topic Topic.
 * @param partition Partition.
 * @param records Keys and values.
 * @param baseSequence The batch's first sequence number.
 * @param baseTimestamp The records' timestamp (default now).
 * @returns The partition's error code.
 */
export async function produceTransactional(
  client: RawClient,
  producer: TxnProducerIds,
  topic: string,
  partition: number,
  records: Array<{ key: string; value: string }>,
  baseSequence: number,
  baseTimestamp: number = Date.now(),
): Promise<number> {
  const res = await client.request(ProduceRequest, ProduceResponse, 9, {
    ...produceBody(
      topic,
      partition,
      buildBatch({
        records,
        producerId: producer.producerId,
        producerEpoch: producer.producerEpoch,
        baseSequence,
        attributes: TRANSACTIONAL_BIT,
        baseTimestamp,
      }),
    ),
    transactionalId: producer.transactionalId,
  });
  return res.responses[0].partitionResponses[0].errorCode;
}

/**
 * What a fenced transactional producer (an epoch older than its coordinator's) is answered:
 * EndTxn v3 (commit), EndTxn v1 (commit, before PRODUCER_FENCED existed) and a transactional
 * Produce of one record with sequence `baseSequence`.
 *
 * @param client The connection.
 * @param producer The producer's (old) ids.
 * @param topic The topic of the Produce (partition 0).
 * @param baseSequence The Produce batch's first sequence number.
 * @returns The three error codes, in that order.
 */
export async function fencedAnswers(
  client: RawClient,
  producer: TxnProducerIds,
  topic: string,
  baseSequence: number,
): Promise<number[]> {
  const endTxn = async (version: number) =>
    (await client.request(EndTxnRequest, EndTxnResponse, version, {
      ...producer,
      committed: true,
    })).errorCode;
  return [
    await endTxn(3),
    await endTxn(1),
    await produceTransactional(
      client,
      producer,
      topic,
      0,
      [{ key: "k", value: "z" }],
      baseSequence,
    ),
  ];
}

/**
 * [base offset, attributes, producer id] of each batch of fetched record bytes (to check where
 * transactional batches and their markers landed).
 *
 * @param records The record bytes of a fetch answer.
 * @returns One triple per batch, in order.
 */
export function batchSummaries(records: Uint8Array): number[][] {
  const out: number[][] = [];
  for (let p = 0; p < records.length; p += batchSizeAt(records, p)) {
    out.push([baseOffsetAt(records, p), attributesAt(records, p), producerIdAt(records, p)]);
  }
  return out;
}
