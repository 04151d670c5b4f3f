// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The broker's counters (issue #15): plain numbers the request path increments in place, read
 * only when `/metrics` is scraped (`http/collect.ts` turns them, and the state of the logs,
 * groups and replicas, into the exposition). Nothing here allocates per request once a topic and
 * an API have been seen, and nothing is computed until a scrape asks.
 *
 * The names the exposition gives these counters follow the Prometheus JMX exporter's usual
 * rendering of Kafka's MBeans (docs/OBSERVABILITY.md).
 *
 * @module
 */

/**
 * Upper bounds (ms) of the request latency histogram's buckets, as Prometheus `le` labels; a
 * last `+Inf` bucket is implied.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  0.5,
  1,
  2.5,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1000,
  2500,
  5000,
  10000,
  30000,
]);

/**
 * One topic's counters (Kafka's `BrokerTopicMetrics` for that topic).
 *
 * @example
 * ```ts
 * import { BrokerMetrics } from "./metrics.ts";
 *
 * const m = new BrokerMetrics();
 * m.topic("orders").messagesIn += 3;
 * console.log(m.topic("orders").messagesIn); // 3
 * ```
 */
export class TopicCounters {
  /** Records appended by producers (`MessagesInPerSec`). */
  messagesIn = 0;
  /** Record batch bytes appended by producers (`BytesInPerSec`). */
  bytesIn = 0;
  /** Record bytes sent to consumers (`BytesOutPerSec`). */
  bytesOut = 0;
  /** Record bytes sent to follower brokers (`ReplicationBytesOutPerSec`). */
  replicationBytesOut = 0;
  /** Partition appends asked for by Produce requests (`TotalProduceRequestsPerSec`). */
  produceRequests = 0;
  /** Partition appends of Produce requests that failed (`FailedProduceRequestsPerSec`). */
  failedProduceRequests = 0;
  /** Partitions read by Fetch requests (`TotalFetchRequestsPerSec`). */
  fetchRequests = 0;
  /** Partitions of Fetch requests answered with an error (`FailedFetchRequestsPerSec`). */
  failedFetchRequests = 0;
}

/**
 * One API's counters (Kafka's `RequestMetrics` for that request): requests by version and a
 * latency histogram of the time from the request's decoding to its encoded response.
 */
export class RequestCounters {
  /** The API's name, e.g. `"Produce"`. */
  readonly name: string;
  /** Requests by API version (index = version). */
  readonly byVersion: number[] = [];
  /**
   * Requests per latency bucket, not cumulative: index `i` counts latencies in
   * `(LATENCY_BUCKETS_MS[i-1], LATENCY_BUCKETS_MS[i]]`, the last index those above every bound.
   */
  readonly buckets: Float64Array = new Float64Array(LATENCY_BUCKETS_MS.length + 1);
  /** Sum of all latencies (ms). */
  sumMs = 0;
  /** Requests whose handler threw (answered with an error response or a closed connection). */
  errors = 0;

  /**
   * Creates the counters of one API.
   *
   * @param name The API's name.
   */
  constructor(name: string) {
    this.name = name;
  }

  /** Requests in all. */
  get count(): number {
    let n = 0;
    for (const b of this.buckets) n += b;
    return n;
  }
}

/**
 * Every counter of one broker.
 *
 * @example Count a request and a produced batch
 * ```ts
 * import { BrokerMetrics } from "./metrics.ts";
 *
 * const m = new BrokerMetrics();
 * m.recordRequest(0, "Produce", 9, 1.7);
 * const t = m.topic("orders");
 * t.messagesIn += 10;
 * t.bytesIn += 1200;
 * console.log(m.request(0)?.byVersion[9]); // 1
 * ```
 */
export class BrokerMetrics {
  /** Counters by topic name, created on first use. */
  readonly topics: Map<string, TopicCounters> = new Map();
  /** Counters by API key (sparse), created on first use. */
  readonly #requests: (RequestCounters | undefined)[] = [];
  /** Connections accepted (`connection-creation-total`). */
  connectionsCreated = 0;
  /** Connections closed, by either side (`connection-close-total`). */
  connectionsClosed = 0;

  /**
   * A topic's counters, created on first use.
   *
   * @param name Topic name.
   * @returns The counters, to increment in place.
   */
  topic(name: string): TopicCounters {
    let t = this.topics.get(name);
    if (t === undefined) this.topics.set(name, t = new TopicCounters());
    return t;
  }

  /**
   * An API's counters, if it was ever requested.
   *
   * @param apiKey The API key.
   * @returns The counters, or `undefined`.
   */
  request(apiKey: number): RequestCounters | undefined {
    return this.#requests[apiKey];
  }

  /**
   * Every API's counters, in key order.
   *
   * @returns The APIs requested at least once.
   */
  requests(): RequestCounters[] {
    return this.#requests.filter((r): r is RequestCounters => r !== undefined);
  }

  /**
   * Count one request.
   *
   * @param apiKey The API key.
   * @param name The API's name (used the first time the key is seen).
   * @param version The request's API version.
   * @param ms How long the broker took, from decoding to the encoded response.
   * @param failed Whether the request failed as a whole (the connection is closed).
   */
  recordRequest(apiKey: number, name: string, version: number, ms: number, failed = false): void {
    const r = this.#counters(apiKey, name);
    r.byVersion[version] = (r.byVersion[version] ?? 0) + 1;
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]) i++;
    r.buckets[i]++;
    r.sumMs += ms;
    if (failed) r.errors++;
  }

  /**
   * Count a request whose handler threw (it is answered with an error response).
   *
   * @param apiKey The API key.
   * @param name The API's name.
   */
  recordError(apiKey: number, name: string): void {
    this.#counters(apiKey, name).errors++;
  }

  #counters(apiKey: number, name: string): RequestCounters {
    let r = this.#requests[apiKey];
    if (r === undefined) this.#requests[apiKey] = r = new RequestCounters(name);
    return r;
  }
}
