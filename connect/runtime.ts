// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Starting a Connect worker with its REST listener (`listeners=http://HOST:PORT` or
 * `rest.port`): {@linkcode startStandalone} (Kafka's `connect-standalone`: offsets in
 * `offset.storage.file.filename`, connectors from properties given at start or created over
 * REST) or {@linkcode startDistributed} (`connect-distributed`: a group of workers sharing
 * configs, offsets and statuses in topics).
 *
 * @module
 */

import { Client, type ClientOptions } from "../client/client.ts";
import { clientTlsFromProperties } from "../client/tls.ts";
import { saslOptionsFromProperties } from "../client/sasl.ts";
import { StandaloneHerder } from "./herder.ts";
import type { Herder } from "./herder.ts";
import { FileOffsetStore, TopicOffsetStore } from "./offset_store.ts";
import { DistributedHerder } from "./distributed.ts";
import { type RestServer, startRestServer } from "./rest.ts";
import { type Log, Worker } from "./worker.ts";

/** A running worker with its REST API. */
export interface ConnectRuntime {
  /** The herder (configurations, statuses). */
  herder: Herder;
  /** The REST server. */
  rest: RestServer;
  /** The worker (the connectors and tasks running here, their error counters). */
  worker: Worker;
  /** `http://HOST:PORT` of the REST API. */
  url: string;
  /** Stops the connectors and tasks (storing offsets), the REST server and the client. */
  stop(): Promise<void>;
}

/**
 * The REST listener of worker properties: `listeners` (first `http://HOST:PORT`), else
 * `rest.host.name` and `rest.port` (default 8083).
 *
 * @example
 * ```ts
 * import { restListener } from "./runtime.ts";
 * const l = restListener({ listeners: "http://127.0.0.1:0" });
 * console.assert(l.hostname === "127.0.0.1" && l.port === 0);
 * ```
 *
 * @param props Worker properties.
 * @returns Host and port.
 * @throws {RangeError} On a listener that is not `http://HOST:PORT`.
 */
export function restListener(props: Record<string, string>): { hostname: string; port: number } {
  const listeners = props.listeners?.trim();
  if (listeners) {
    const first = listeners.split(",")[0].trim();
    const m = first.match(/^http:\/\/(\[[^\]]*\]|[^:/]*):(\d+)\/?$/i);
    if (!m) {
      throw new RangeError(
        `Invalid value ${first} for configuration listeners: expected http://HOST:PORT`,
      );
    }
    return { hostname: m[1] === "" ? "0.0.0.0" : m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) };
  }
  const port = Number(props["rest.port"] ?? 8083);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Invalid value ${props["rest.port"]} for configuration rest.port`);
  }
  return { hostname: props["rest.host.name"] || "0.0.0.0", port };
}

/**
 * Client options from worker properties (`bootstrap.servers`, `client.id`, `security.protocol`,
 * `ssl.*`, `sasl.*`).
 *
 * @param props Worker properties.
 * @returns The client options.
 */
export function clientOptions(props: Record<string, string>): ClientOptions {
  return {
    bootstrapServers: props["bootstrap.servers"] ?? "localhost:9092",
    clientId: props["client.id"] ?? "sluice-connect",
    tls: clientTlsFromProperties(props),
    sasl: saslOptionsFromProperties(props),
  };
}

/** Options of {@linkcode startStandalone}. */
export interface StandaloneOptions {
  /** Worker properties (`connect-standalone.properties`). */
  worker: Record<string, string>;
  /** Connector properties to start with (`connect-file-source.properties`, …). */
  connectors?: Record<string, string>[];
  /** Logging. */
  log?: Log;
}

/**
 * Starts a standalone worker: REST API, offsets file, the given connectors.
 *
 * @example
 * ```ts ignore
 * import { startStandalone } from "./runtime.ts";
 * const rt = await startStandalone({
 *   worker: { "bootstrap.servers": "localhost:9092", "offset.storage.file.filename": "/tmp/o" },
 *   connectors: [{ name: "src", "connector.class": "FileStreamSource", file: "/tmp/in", topic: "t" }],
 * });
 * await rt.stop();
 * ```
 *
 * @param options Worker and connector properties.
 * @returns The running worker.
 * @throws {Error} On a bad worker property, a busy port, or an invalid connector configuration.
 */
export async function startStandalone(options: StandaloneOptions): Promise<ConnectRuntime> {
  const props = options.worker;
  const offsetFile = props["offset.storage.file.filename"];
  if (!offsetFile) {
    throw new Error(
      `Missing required configuration "offset.storage.file.filename" which has no default value.`,
    );
  }
  const listener = restListener(props);
  const offsets = new FileOffsetStore(offsetFile);
  await offsets.start();
  const herder = new StandaloneHerder();
  const rest = startRestServer(() => herder, listener);
  const client = new Client(clientOptions(props));
  const host = props["rest.advertised.host.name"] ||
    (listener.hostname === "0.0.0.0" ? Deno.hostname() : listener.hostname);
  const worker = new Worker({
    client,
    props,
    offsets,
    workerId: `${host}:${rest.port}`,
    onStatus: herder.onStatus,
    log: options.log,
  });
  herder.attach(worker);
  const stop = async () => {
    await rest.close().catch(() => {});
    await herder.stop();
    await offsets.stop();
    await client.close();
  };
  try {
    for (const c of options.connectors ?? []) {
      if (!c.name) throw new Error(`connector properties: "name" is missing`);
      await herder.putConnectorConfig(c.name, c, false);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    herder,
    rest,
    worker,
    url: `http://${listener.hostname === "0.0.0.0" ? "127.0.0.1" : listener.hostname}:${rest.port}`,
    stop,
  };
}

/** Options of {@linkcode startDistributed}. */
export interface DistributedOptions {
  /** Worker properties (`connect-distributed.properties`). */
  worker: Record<string, string>;
  /** Logging. */
  log?: Log;
}

/**
 * Starts a distributed worker: creates the config, offset and status topics when missing, joins
 * `group.id`, serves the REST API.
 *
 * @example
 * ```ts ignore
 * import { startDistributed } from "./runtime.ts";
 * const rt = await startDistributed({
 *   worker: {
 *     "bootstrap.servers": "localhost:9092",
 *     "group.id": "connect-cluster",
 *     "config.storage.topic": "connect-configs",
 *     "offset.storage.topic": "connect-offsets",
 *     "status.storage.topic": "connect-status",
 *   },
 * });
 * await rt.stop();
 * ```
 *
 * @param options Worker properties.
 * @returns The running worker.
 * @throws {Error} On a missing property, a busy port, or a broker that cannot be reached.
 */
export async function startDistributed(options: DistributedOptions): Promise<ConnectRuntime> {
  const props = options.worker;
  const listener = restListener(props);
  const client = new Client(clientOptions(props));
  let herder: DistributedHerder;
  try {
    herder = new DistributedHerder({ client, props, log: options.log });
    await DistributedHerder.createTopics(client, props);
  } catch (e) {
    await client.close();
    throw e;
  }
  const offsets = new TopicOffsetStore(client, props["offset.storage.topic"]);
  let ready = false;
  const rest = startRestServer(() => (ready ? herder : undefined), listener);
  const host = props["rest.advertised.host.name"] ||
    (listener.hostname === "0.0.0.0" ? Deno.hostname() : listener.hostname);
  const worker = new Worker({
    client,
    props,
    offsets,
    workerId: `${host}:${rest.port}`,
    onStatus: herder.onStatus,
    log: options.log,
  });
  try {
    await offsets.start();
    await herder.start(worker);
  } catch (e) {
    await rest.close().catch(() => {});
    await client.close();
    throw e;
  }
  ready = true;
  return {
    herder,
    rest,
    worker,
    url: `http://${listener.hostname === "0.0.0.0" ? "127.0.0.1" : listener.hostname}:${rest.port}`,
    stop: async () => {
      await rest.close().catch(() => {});
      await herder.stop();
      await offsets.stop();
      await client.close();
    },
  };
}
