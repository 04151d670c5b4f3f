/**
 * `sluice broker`: run the embedded Sluice broker until SIGINT or SIGTERM.
 *
 * @module
 */

import { Broker } from "../server/broker.ts";
import { loadBrokerConfig } from "../server/config.ts";
import { formatJsonLogLine } from "../server/logger.ts";
import { UsageError } from "./args.ts";
import type { CommandIo } from "./io.ts";

/** Help text of `sluice broker`. */
export const BROKER_HELP: string = `Usage: sluice broker [server.properties] [OPTIONS]

Starts a Sluice broker (default PLAINTEXT://localhost:9092, data in ./data) and runs it until
SIGINT or SIGTERM, then shuts it down cleanly.

Options:
  --override KEY=VALUE          Override a server.properties setting (repeatable)
  --listeners PLAINTEXT://H:P   Where to listen
  --log-dirs DIR                Where to keep data
  --node-id N                   Broker id (default 1)
  --log-format text|json        Log lines as text (default) or one JSON object per line
                                (sluice.log.format)
  --quiet                       Do not log
  -h, --help                    Show this help
`;

/**
 * Runs `sluice broker`.
 *
 * @param args Arguments after `broker`.
 * @param io Where to print.
 * @param stop Resolves when the broker should shut down; defaults to SIGINT/SIGTERM.
 * @returns The exit code (0 after a clean shutdown).
 * @throws {UsageError} On bad flags or config values.
 */
export async function runBroker(
  args: string[],
  io: CommandIo,
  stop?: Promise<void>,
): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    io.stdout(BROKER_HELP);
    return 0;
  }
  let config;
  // config warnings wait for the log format, so JSON logs stay JSON from the first line
  const warnings: string[] = [];
  try {
    config = await loadBrokerConfig(args, (m) => warnings.push(m));
  } catch (e) {
    for (const m of warnings) io.stderr(m + "\n");
    if (e instanceof RangeError) throw new UsageError(`${e.message}`);
    if (e instanceof Deno.errors.NotFound) {
      throw new UsageError(`cannot read properties file: ${e.message}`);
    }
    throw e;
  }
  for (const m of warnings) {
    io.stderr((config.logFormat === "json" ? formatJsonLogLine(new Date(), "warn", m) : m) + "\n");
  }
  const broker = await Broker.start(config);
  let release = () => {};
  const signalled = new Promise<void>((resolve) => {
    const onSignal = () => resolve();
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    release = () => {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    };
  });
  try {
    await (stop ? Promise.race([stop, signalled]) : signalled);
  } finally {
    release();
    await broker.close();
  }
  return 0;
}
