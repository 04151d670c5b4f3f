// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A Kafka-aware TCP proxy for tests: it sits between clients and a broker, splits both streams
 * into frames and lets a test decide, per Produce request, whether it is forwarded, whether its
 * response is lost (the connection then closes, as when a broker dies after appending), delayed,
 * or replaced by an error the proxy answers itself. Responses reach the client in request order
 * whatever happens, as a broker's would. It also records what producers sent (producer id,
 * epoch, sequences of every batch), the InitProducerId requests, and how many Produce requests of
 * each partition were awaiting their answer at once; it can answer InitProducerId with an error,
 * and advertise a lower InitProducerId version than the broker's (a broker without KIP-360).
 * Fetch requests are recorded (the offset and `current_leader_epoch` of each partition) and can be
 * answered with an error for every partition (a leader in another epoch: KIP-320), the partitions
 * and epochs of OffsetForLeaderEpoch requests (KIP-320 validations) are recorded; the API key of
 * every request is logged in order.
 *
 * A broker behind it must advertise the proxy's address (`advertised.listeners`), else clients
 * go round it after their first metadata request.
 *
 * Needs `--allow-net`.
 *
 * @module
 */

import { ErrorCode } from "../protocol/errors.ts";
import {
  concat,
  decodeBody,
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponseHeader,
  encodeResponseFrame,
} from "../protocol/framing.ts";
import { ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import {
  createFetchResponseFetchableTopicResponse,
  createFetchResponsePartitionData,
  FetchRequest,
  FetchResponse,
} from "../protocol/messages/fetch.ts";
import {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../protocol/messages/init_producer_id.ts";
import { OffsetForLeaderEpochRequest } from "../protocol/messages/offset_for_leader_epoch.ts";
import {
  createProduceResponsePartitionProduceResponse,
  ProduceRequest,
  ProduceResponse,
} from "../protocol/messages/produce.ts";
import {
  baseSequenceAt,
  crcAt,
  producerEpochAt,
  producerIdAt,
  recordCountAt,
} from "../records/mod.ts";

const PRODUCE_KEY = ProduceRequest.apiKey;
const FETCH_KEY = FetchRequest.apiKey;
const INIT_PRODUCER_ID_KEY = InitProducerIdRequest.apiKey;
const OFFSET_FOR_LEADER_EPOCH_KEY = OffsetForLeaderEpochRequest.apiKey;
const API_VERSIONS_KEY = ApiVersionsResponse.apiKey;

/** One batch of a Produce request, as the proxy saw it. */
export interface SeenBatch {
  /** Index of its Produce request among all the proxy received (0-based). */
  request: number;
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Producer id (-1 without idempotence). */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
  /** First sequence. */
  baseSequence: number;
  /** Records in the batch. */
  count: number;
  /** Its CRC-32C (over everything from the attributes on: ids, sequence, records). */
  crc: number;
}

/** One partition of a Fetch request, as the proxy saw it. */
export interface SeenFetch {
  /** Index of its Fetch request among all the proxy received (0-based). */
  request: number;
  /** Topic name (v12-), or topic id (v13+). */
  topic: string;
  /** Partition. */
  partition: number;
  /** Fetch offset. */
  offset: number;
  /** `current_leader_epoch` (-1 before v9, or not checked). */
  currentLeaderEpoch: number;
}

/** One partition of an OffsetForLeaderEpoch request (a KIP-320 validation), as the proxy saw it. */
export interface SeenEpochQuery {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** The epoch whose end offset is asked for (that of the position being validated). */
  leaderEpoch: number;
  /** `current_leader_epoch` (-1 before v2, or not checked). */
  currentLeaderEpoch: number;
}

/** What the proxy does with one Produce request. */
export type ProduceAction =
  | "forward"
  /** Forward it, lose the response and close the client's connection. */
  | "drop-response"
  /** Answer every partition of it with `errorCode` (and `baseOffset`, default -1) instead of the
   * broker; `forward: true` still lets the broker have it (its answer is thrown away). */
  | { errorCode: number; baseOffset?: number; forward?: boolean }
  /** Forward it and hold its response this long. */
  | { delayMs: number };

/** Options of {@linkcode FaultProxy}. */
export interface FaultProxyOptions {
  /** Decides per Produce request (`n`: its index among all received, 0-based). Default forward. */
  produce?: (n: number, batches: SeenBatch[]) => ProduceAction;
  /** Highest InitProducerId version advertised in ApiVersions answers. Default: the broker's. */
  maxInitProducerIdVersion?: number;
  /**
   * An error code to answer InitProducerId request `n` (0-based) with instead of the broker, or
   * `undefined` to forward it. Default: forward all.
   */
  initProducerIdError?: (n: number) => number | undefined;
  /**
   * An error code to answer every partition of Fetch request `n` (0-based) with instead of the
   * broker, or `undefined` to forward it. Default: forward all.
   */
  fetchError?: (n: number, partitions: SeenFetch[]) => number | undefined;
}

interface Slot {
  correlationId: number;
  apiKey: number;
  version: number;
  /** Bytes to send to the client once every earlier slot is out; `undefined` until known. */
  frame: Uint8Array[] | undefined;
  /** Close the connection instead of answering. */
  close: boolean;
  /** Replace the broker's answer by this one (the broker's is dropped). */
  replacement?: Uint8Array[];
  /** Hold the answer this long. */
  delayMs: number;
  /** Partitions whose outstanding count this request holds. */
  partitions: string[];
}

/**
 * The proxy.
 *
 * @example
 * ```ts ignore
 * import { FaultProxy } from "./fault_proxy.ts";
 * const proxy = new FaultProxy(() => brokerPort, { produce: (n) => n === 2 ? "drop-response" : "forward" });
 * // start the broker with advertisedListeners: `PLAINTEXT://127.0.0.1:${proxy.port}`
 * await proxy.close();
 * ```
 */
export class FaultProxy {
  /** Every batch of every Produce request received, in order. */
  readonly batches: SeenBatch[] = [];
  /** Every InitProducerId request received: producer id and epoch it carried, and its version. */
  readonly initProducerIds: Array<{ producerId: number; producerEpoch: number; version: number }> =
    [];
  /** Every partition of every Fetch request received, in order. */
  readonly fetches: SeenFetch[] = [];
  /** Every partition of every OffsetForLeaderEpoch request received, in order. */
  readonly epochQueries: SeenEpochQuery[] = [];
  /** The API key of every request received, in order. */
  readonly apiKeys: number[] = [];
  #fetchRequests = 0;
  /** Produce responses lost on purpose. */
  dropped = 0;
  /** Produce requests answered by the proxy. */
  answered = 0;
  /** Per `topic-partition`: most Produce requests awaiting their answer at once. */
  readonly maxOutstanding: Map<string, number> = new Map();
  #produceRequests = 0;
  #outstanding = new Map<string, number>();
  #listener: Deno.TcpListener;
  #conns = new Set<Deno.TcpConn>();
  #accepting: Promise<void>;
  #options: FaultProxyOptions;

  /**
   * Listens on a free port of 127.0.0.1.
   *
   * @param upstreamPort The broker's port (read at each new connection: the broker may start
   *   after the proxy, and move).
   * @param options What to do with Produce requests, and the InitProducerId version to show.
   */
  constructor(upstreamPort: () => number, options: FaultProxyOptions = {}) {
    this.#options = options;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept(upstreamPort);
  }

  /** The proxy's port. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Produce requests received so far. */
  get produceRequests(): number {
    return this.#produceRequests;
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    await this.#accepting.catch(() => {});
  }

  /** Closes every connection now (the listener goes on accepting). */
  dropConnections(): void {
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.#conns.clear();
  }

  async #accept(upstreamPort: () => number): Promise<void> {
    for await (const client of this.#listener) {
      let upstream: Deno.TcpConn;
      try {
        upstream = await Deno.connect({ hostname: "127.0.0.1", port: upstreamPort() });
      } catch {
        client.close();
        continue;
      }
      this.#serve(client, upstream);
    }
  }

  #serve(client: Deno.TcpConn, upstream: Deno.TcpConn): void {
    this.#conns.add(client);
    this.#conns.add(upstream);
    const slots: Slot[] = [];
    let closed = false;
    const closeBoth = () => {
      if (closed) return;
      closed = true;
      for (const c of [client, upstream]) {
        this.#conns.delete(c);
        try {
          c.close();
        } catch { /* already closed */ }
      }
      for (const s of slots.splice(0)) this.#release(s);
    };
    let writing = Promise.resolve();
    const flush = () => {
      writing = writing.then(async () => {
        while (!closed && slots.length > 0 && slots[0].frame !== undefined) {
          const s = slots.shift()!;
          if (s.delayMs > 0) await new Promise((r) => setTimeout(r, s.delayMs));
          this.#release(s);
          if (s.close) {
            closeBoth();
            return;
          }
          for (const chunk of s.frame!) {
            let w = 0;
            while (w < chunk.length) w += await client.write(chunk.subarray(w));
          }
        }
      }).catch(closeBoth);
    };
    let toBroker = Promise.resolve();
    // client → broker
    pumpFrames(client, (frame) => {
      const slot = this.#onRequest(frame);
      if (slot === undefined) { // Produce with acks=0: no answer
        toBroker = toBroker.then(() => writeAll(upstream, frame)).catch(closeBoth);
        return;
      }
      slots.push(slot);
      if (slot.frame === undefined || slot.replacement !== undefined) {
        toBroker = toBroker.then(() => writeAll(upstream, frame)).catch(closeBoth);
      }
      flush();
    }).finally(closeBoth);
    // broker → client
    pumpFrames(upstream, (frame) => {
      const id = new DataView(frame.buffer, frame.byteOffset).getInt32(4);
      const s = slots.find((x) => x.correlationId === id && x.frame === undefined);
      if (s === undefined) return; // answered by the proxy already
      if (s.replacement !== undefined) s.frame = s.replacement;
      else s.frame = [this.#rewriteResponse(s, frame)];
      flush();
    }).finally(closeBoth);
  }

  #onRequest(frame: Uint8Array): Slot | undefined {
    const payload = frame.subarray(4);
    const { header, bodyOffset } = decodeRequestHeader(payload);
    const slot: Slot = {
      correlationId: header.correlationId,
      apiKey: header.requestApiKey,
      version: header.requestApiVersion,
      frame: undefined,
      close: false,
      delayMs: 0,
      partitions: [],
    };
    this.apiKeys.push(header.requestApiKey);
    if (header.requestApiKey === OFFSET_FOR_LEADER_EPOCH_KEY) {
      const { message } = decodeRequestBody(
        OffsetForLeaderEpochRequest,
        payload,
        bodyOffset,
        header.requestApiVersion,
      );
      for (const t of message.topics) {
        for (const p of t.partitions) {
          this.epochQueries.push({
            topic: t.topic,
            partition: p.partition,
            leaderEpoch: p.leaderEpoch,
            currentLeaderEpoch: p.currentLeaderEpoch,
          });
        }
      }
      return slot;
    }
    if (header.requestApiKey === FETCH_KEY) {
      const version = header.requestApiVersion;
      const { message } = decodeRequestBody(FetchRequest, payload, bodyOffset, version);
      const n = this.#fetchRequests++;
      const seen = message.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          request: n,
          topic: version >= 13 ? t.topicId : t.topic,
          partition: p.partition,
          offset: p.fetchOffset,
          currentLeaderEpoch: p.currentLeaderEpoch,
        }))
      );
      this.fetches.push(...seen);
      const errorCode = this.#options.fetchError?.(n, seen);
      if (errorCode !== undefined) {
        slot.frame = encodeResponseFrame(
          FetchResponse,
          version,
          header.correlationId,
          FetchResponse.create({
            errorCode: 0,
            sessionId: 0,
            responses: message.topics.map((t) =>
              createFetchResponseFetchableTopicResponse({
                topic: version >= 13 ? "" : t.topic,
                topicId: t.topicId,
                partitions: t.partitions.map((p) =>
                  createFetchResponsePartitionData({
                    partitionIndex: p.partition,
                    errorCode,
                    highWatermark: -1,
                    lastStableOffset: -1,
                    logStartOffset: -1,
                    records: null,
                  })
                ),
              })
            ),
          }),
        );
      }
      return slot;
    }
    if (header.requestApiKey === INIT_PRODUCER_ID_KEY) {
      const { message } = decodeRequestBody(
        InitProducerIdRequest,
        payload,
        bodyOffset,
        header.requestApiVersion,
      );
      const n = this.initProducerIds.push({
        producerId: message.producerId,
        producerEpoch: message.producerEpoch,
        version: header.requestApiVersion,
      }) - 1;
      const errorCode = this.#options.initProducerIdError?.(n);
      if (errorCode !== undefined) {
        slot.frame = encodeResponseFrame(
          InitProducerIdResponse,
          header.requestApiVersion,
          header.correlationId,
          InitProducerIdResponse.create({ errorCode, producerId: -1, producerEpoch: -1 }),
        );
      }
    }
    if (header.requestApiKey !== PRODUCE_KEY) return slot;
    const { message } = decodeRequestBody(
      ProduceRequest,
      payload,
      bodyOffset,
      header.requestApiVersion,
    );
    const n = this.#produceRequests++;
    const batches: SeenBatch[] = [];
    for (const t of message.topicData) {
      for (const p of t.partitionData) {
        const r = p.records;
        if (r === null || r.length < 61) continue;
        batches.push({
          request: n,
          topic: t.name,
          partition: p.index,
          producerId: producerIdAt(r, 0),
          producerEpoch: producerEpochAt(r, 0),
          baseSequence: baseSequenceAt(r, 0),
          count: recordCountAt(r, 0),
          crc: crcAt(r, 0),
        });
      }
    }
    this.batches.push(...batches);
    if (message.acks === 0) return undefined;
    for (const t of message.topicData) {
      for (const p of t.partitionData) {
        const k = `${t.name}-${p.index}`;
        const now = (this.#outstanding.get(k) ?? 0) + 1;
        this.#outstanding.set(k, now);
        this.maxOutstanding.set(k, Math.max(now, this.maxOutstanding.get(k) ?? 0));
        slot.partitions.push(k);
      }
    }
    const action = this.#options.produce?.(n, batches) ?? "forward";
    if (action === "drop-response") {
      slot.close = true;
      this.dropped++;
    } else if (typeof action === "object" && "delayMs" in action) {
      slot.delayMs = action.delayMs;
    } else if (typeof action === "object") {
      this.answered++;
      const answer = encodeResponseFrame(
        ProduceResponse,
        header.requestApiVersion,
        header.correlationId,
        ProduceResponse.create({
          responses: message.topicData.map((t) => ({
            name: t.name,
            partitionResponses: t.partitionData.map((p) =>
              createProduceResponsePartitionProduceResponse({
                index: p.index,
                errorCode: action.errorCode,
                baseOffset: action.baseOffset ?? -1,
              })
            ),
          })),
        }),
      );
      if (action.forward) slot.replacement = answer;
      else slot.frame = answer;
    }
    return slot;
  }

  /** The broker's answer, with ApiVersions capped when asked to. */
  #rewriteResponse(s: Slot, frame: Uint8Array): Uint8Array {
    const max = this.#options.maxInitProducerIdVersion;
    if (s.apiKey !== API_VERSIONS_KEY || max === undefined) return frame;
    const payload = frame.subarray(4);
    const { bodyOffset } = decodeResponseHeader(payload, s.apiKey, s.version);
    const res = decodeBody(ApiVersionsResponse, payload, bodyOffset, s.version);
    if (res.errorCode !== ErrorCode.NONE) return frame;
    for (const k of res.apiKeys) {
      if (k.apiKey === INIT_PRODUCER_ID_KEY) k.maxVersion = Math.min(k.maxVersion, max);
    }
    return concat(encodeResponseFrame(ApiVersionsResponse, s.version, s.correlationId, res));
  }

  #release(s: Slot): void {
    for (const k of s.partitions.splice(0)) {
      this.#outstanding.set(k, (this.#outstanding.get(k) ?? 1) - 1);
    }
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let w = 0;
  while (w < bytes.length) w += await conn.write(bytes.subarray(w));
}

/** Reads size-prefixed frames (prefix included) until the connection ends. */
async function pumpFrames(from: Deno.TcpConn, onFrame: (frame: Uint8Array) => void) {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(65536);
  try {
    while (true) {
      const n = await from.read(chunk);
      if (n === null) return;
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
      while (buf.length >= 4) {
        const size = 4 + new DataView(buf.buffer, buf.byteOffset).getInt32(0);
        if (buf.length < size) break;
        onFrame(buf.slice(0, size));
        buf = buf.slice(size);
      }
    }
  } catch {
    // a side closed: the caller closes the other
  }
}
