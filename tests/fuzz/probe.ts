// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The control client: between (and during) fuzz batches it proves the broker still serves
 * ordinary clients, by producing one record with our own client (acks=all, a new connection each
 * time, so the accept loop is exercised too) and consuming it back.
 *
 * @module
 */

import { Admin, Client, Consumer, Producer } from "../../client/mod.ts";

/** One control round trip. */
export interface ProbeResult {
  /** Whether the record was produced and read back. */
  ok: boolean;
  /** Milliseconds from connecting to reading the record back (or to giving up). */
  ms: number;
  /** What failed. */
  error?: string;
}

/**
 * Creates the control topic (one partition) if it does not exist.
 *
 * @param bootstrap `host:port`.
 * @param topic The control topic.
 * @param timeoutMs Request timeout.
 */
export async function createControlTopic(
  bootstrap: string,
  topic: string,
  timeoutMs: number,
): Promise<void> {
  const client = new Client({ bootstrapServers: bootstrap, requestTimeoutMs: timeoutMs });
  try {
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]).catch((e) => {
      if (!String(e).includes("TOPIC_ALREADY_EXISTS")) throw e;
    });
  } finally {
    await client.close();
  }
}

/**
 * Produces one record to `topic` and reads it back, on fresh connections, within `timeoutMs`.
 *
 * @example
 * ```ts ignore
 * import { probe } from "./probe.ts";
 * const r = await probe("127.0.0.1:9092", "control", 10_000);
 * console.log(r.ok, r.ms);
 * ```
 *
 * @param bootstrap `host:port`.
 * @param topic The control topic.
 * @param timeoutMs Give up after this long.
 * @returns Whether it worked and how long it took.
 */
export async function probe(
  bootstrap: string,
  topic: string,
  timeoutMs: number,
): Promise<ProbeResult> {
  const start = performance.now();
  const client = new Client({
    bootstrapServers: bootstrap,
    clientId: "fuzz-control",
    requestTimeoutMs: timeoutMs,
    connectTimeoutMs: timeoutMs,
    retries: 3,
    retryBackoffMs: 50,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const abort = new AbortController();
  const work = (async () => {
    const value = `control-${Date.now()}-${Math.random()}`;
    const producer = new Producer(client, { acks: -1, lingerMs: 0 });
    const [meta] = await producer.send({ topic, messages: [{ value }] });
    const consumer = new Consumer(client, { maxWaitMs: 100, prefetch: false });
    await consumer.assign([{ topic, partition: meta.partition, offset: meta.offset }]);
    while (!abort.signal.aborted) {
      const got = await consumer.poll({ signal: abort.signal });
      if (got.some((r) => new TextDecoder().decode(r.value ?? new Uint8Array()) === value)) return;
    }
  })();
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([work, deadline]);
    return { ok: true, ms: performance.now() - start };
  } catch (e) {
    return {
      ok: false,
      ms: performance.now() - start,
      error: e instanceof Error ? e.message : String(e),
    };
  } finally {
    clearTimeout(timer);
    abort.abort();
    work.catch(() => {});
    await Promise.race([client.close(), new Promise((r) => setTimeout(r, 1000))]).catch(() => {});
  }
}
