// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test support for the Connect tests (not exported from `connect/mod.ts`).
 *
 * @module
 */

import { Admin, Client, Producer, type ProducerMessage } from "../client/mod.ts";
import { startBroker, type TestBroker, waitFor } from "../tests/harness.ts";
import type { ConnectorStateInfo } from "./herder.ts";

/** What a Connect test runs against: a broker, a client of it and a scratch directory. */
export interface ConnectTestEnv extends AsyncDisposable {
  /** The broker (127.0.0.1:0). */
  broker: TestBroker;
  /** A client of the broker (closed with the environment). */
  client: Client;
  /** An admin client over {@linkcode ConnectTestEnv.client}. */
  admin: Admin;
  /** A scratch directory (removed with the environment). */
  dir: string;
  /**
   * Properties of a standalone worker of this broker: `bootstrap.servers`, its offsets in
   * `<dir>/offsets`, the REST API on 127.0.0.1:0; `extra` adds or overrides.
   *
   * @param extra More worker properties.
   * @returns The properties.
   */
  worker(extra?: Record<string, string>): Record<string, string>;
  /**
   * Sends `messages` to `topic` with a producer of its own (closed after).
   *
   * @param topic The topic (it must exist).
   * @param messages The records.
   */
  produce(topic: string, messages: ProducerMessage[]): Promise<void>;
  /** Closes the client and the broker and removes the directory. */
  close(): Promise<void>;
}

/**
 * Starts a broker, a client of it and a scratch directory for a Connect test. `await using`
 * (or {@linkcode ConnectTestEnv.close}) takes them down, client first.
 *
 * @param prefix The scratch directory's name prefix.
 * @returns The environment.
 * @throws {Error} If the broker cannot start.
 */
export async function openConnectTestEnv(
  prefix = "sluice_connect_test_",
): Promise<ConnectTestEnv> {
  const broker = await startBroker();
  const dir = await Deno.makeTempDir({ prefix });
  const client = new Client({ bootstrapServers: broker.bootstrap });
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      try {
        await client.close();
        await broker.close();
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    })();
  return {
    broker,
    client,
    admin: new Admin(client),
    dir,
    worker: (extra = {}) => ({
      "bootstrap.servers": broker.bootstrap,
      "offset.storage.file.filename": `${dir}/offsets`,
      "listeners": "http://127.0.0.1:0",
      ...extra,
    }),
    async produce(topic, messages) {
      const producer = new Producer(client);
      try {
        await producer.send({ topic, messages });
      } finally {
        await producer.close();
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Waits until task `task` of `connector` is FAILED and returns its status (with the `trace`).
 *
 * @param herder The worker's herder (`ConnectRuntime.herder`).
 * @param connector The connector's name.
 * @param task The task's id (default 0).
 * @returns The failed task's status.
 * @throws {Error} `timed out waiting for <connector> task <task> FAILED` after 60 s.
 */
export function failedTask(
  herder: { connectorStatus(name: string): Promise<ConnectorStateInfo> },
  connector: string,
  task = 0,
): Promise<ConnectorStateInfo["tasks"][number]> {
  return until(`${connector} task ${task} FAILED`, async () => {
    const t = (await herder.connectorStatus(connector)).tasks.find((x) => x.id === task);
    return t?.state === "FAILED" ? t : undefined;
  });
}

/** How {@linkcode until} polls. */
export interface UntilOptions {
  /** Give up after this long; default 60 s. */
  timeoutMs?: number;
  /** Pause between two tries; default 100 ms. */
  intervalMs?: number;
  /**
   * Treat an error thrown by the probe as "not yet" (the last one is named in the timeout
   * error); default false: the error fails the wait at once.
   */
  retryErrors?: boolean;
}

/**
 * Calls `f` until it returns something other than `undefined`, and returns that
 * ({@linkcode waitFor} for a probe with a value).
 *
 * @param what What is waited for, for the timeout error.
 * @param f The probe.
 * @param options Timeout, interval, and whether a thrown error means "not yet".
 * @returns The probe's first defined result.
 * @throws {Error} `timed out waiting for <what> (<timeoutMs> ms)` after the timeout (with the
 *   last error when `retryErrors`).
 */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined>,
  options: UntilOptions = {},
): Promise<T> {
  const { timeoutMs = 60_000, intervalMs = 100, retryErrors = false } = options;
  let value: T | undefined;
  let last: unknown;
  await waitFor(what, async () => {
    try {
      value = await f();
    } catch (e) {
      if (!retryErrors) throw e;
      last = e;
      return false;
    }
    return value !== undefined;
  }, { timeoutMs, intervalMs, detail: () => retryErrors ? String(last ?? "") : "" });
  return value!;
}
