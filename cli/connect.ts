// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `sluice connect`: a Kafka Connect worker, `standalone` (Kafka's `connect-standalone.sh
 * worker.properties connector1.properties …`) or `distributed` (`connect-distributed.sh
 * worker.properties`). Runs until SIGINT or SIGTERM, then stops its tasks, storing their
 * offsets.
 *
 * @module
 */

import { parsePropertiesFile } from "../server/config.ts";
import { type ConnectRuntime, startDistributed, startStandalone } from "../connect/mod.ts";
import { UsageError } from "./args.ts";
import type { CommandIo } from "./io.ts";

/** Help text of `sluice connect`. */
export const CONNECT_HELP: string =
  `Usage: sluice connect standalone WORKER.properties [CONNECTOR.properties ...]
       sluice connect distributed WORKER.properties

Runs a Kafka Connect worker with Kafka Connect's configuration files and REST API.

standalone   One worker; source offsets in offset.storage.file.filename; the connectors
             given as properties files start at once, more can be added over REST.
distributed  Workers sharing group.id split the connectors and tasks between them;
             configurations, offsets and statuses live in config.storage.topic,
             offset.storage.topic and status.storage.topic.

Worker properties (Kafka's names): bootstrap.servers, key.converter, value.converter
(with key.converter.schemas.enable, ...), offset.flush.interval.ms, listeners
(http://HOST:PORT) or rest.port, security.protocol, ssl.*, sasl.*.

Connectors in the box: FileStreamSource, FileStreamSink
(org.apache.kafka.connect.file.*), stdin, stdout, http (HttpSinkConnector),
PostgresSinkConnector, PostgresSourceConnector. See docs/CONNECT.md.

REST API: GET /connectors, POST /connectors, GET|PUT /connectors/NAME/config,
GET /connectors/NAME/status, PUT /connectors/NAME/pause|resume,
POST /connectors/NAME/restart, GET /connectors/NAME/tasks, DELETE /connectors/NAME,
GET /connector-plugins.

Stops on SIGINT or SIGTERM (offsets stored first).
`;

async function readProps(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${e instanceof Error ? e.message : e}`);
  }
  return parsePropertiesFile(text);
}

/**
 * Runs `sluice connect`.
 *
 * @param args Arguments after `connect`.
 * @param io Where to write.
 * @param signal Stops the worker when aborted (default: SIGINT or SIGTERM).
 * @returns The exit code.
 * @throws {UsageError} On a bad command line.
 * @throws {Error} When the worker cannot start.
 */
export async function runConnect(
  args: string[],
  io: CommandIo,
  signal?: AbortSignal,
): Promise<number> {
  const [mode, ...files] = args;
  if (mode === "-h" || mode === "--help" || mode === "help") {
    io.stdout(CONNECT_HELP);
    return 0;
  }
  if (mode !== "standalone" && mode !== "distributed") {
    throw new UsageError(
      mode === undefined
        ? `expected "standalone" or "distributed" (see sluice connect --help)`
        : `unknown mode "${mode}" (expected standalone or distributed)`,
    );
  }
  if (files.length === 0) throw new UsageError(`${mode}: the worker properties file is missing`);
  if (mode === "distributed" && files.length > 1) {
    throw new UsageError(`distributed: takes only the worker properties file`);
  }
  const worker = await readProps(files[0]);
  const connectors = await Promise.all(files.slice(1).map(readProps));
  const log = (level: string, message: string) =>
    io.stderr(`${new Date().toISOString()} ${level.toUpperCase()} ${message}\n`);
  const rt: ConnectRuntime = mode === "standalone"
    ? await startStandalone({ worker, connectors, log })
    : await startDistributed({ worker, log });
  io.stderr(`${new Date().toISOString()} INFO connect ${mode} worker ready at ${rt.url}\n`);
  const stopped = new Promise<void>((resolve) => {
    if (signal) {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
      return;
    }
    const onSignal = () => {
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
      resolve();
    };
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
  });
  await stopped;
  io.stderr(`${new Date().toISOString()} INFO connect worker stopping\n`);
  await rt.stop();
  return 0;
}
