/**
 * A clear message when no broker answers: `sluice topics --list` against a stopped broker says
 * "is the broker running at HOST:PORT?" once, rather than the client's chain of errors.
 *
 * @module
 */

import { KafkaError } from "../client/mod.ts";
import { ErrorCode } from "../protocol/errors.ts";

/**
 * The `--bootstrap-server` (or `--broker-list`) value among a command's arguments, in either
 * form (`--flag value`, `--flag=value`), else Kafka's default `localhost:9092`.
 *
 * @example
 * ```ts
 * import { bootstrapOf } from "./unreachable.ts";
 * console.log(bootstrapOf(["--topic", "t", "--bootstrap-server=h:1"])); // "h:1"
 * console.log(bootstrapOf([])); // "localhost:9092"
 * ```
 *
 * @param args A command's arguments.
 * @returns The bootstrap servers, comma-separated.
 */
export function bootstrapOf(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    for (const flag of ["--bootstrap-server", "--broker-list"]) {
      if (args[i] === flag && i + 1 < args.length) return args[i + 1];
      if (args[i].startsWith(`${flag}=`)) return args[i].slice(flag.length + 1);
    }
  }
  return "localhost:9092";
}

function isNetworkFailure(e: unknown): boolean {
  if (e instanceof KafkaError) {
    return e.code === ErrorCode.NETWORK_EXCEPTION || e.message.includes("NETWORK_EXCEPTION");
  }
  return e instanceof Error && e.message.includes("NETWORK_EXCEPTION");
}

async function refuses(address: string): Promise<boolean> {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(address.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port)) return false;
  try {
    const conn = await Deno.connect({ hostname: host, port, signal: AbortSignal.timeout(2000) });
    conn.close();
    return false;
  } catch (e) {
    return e instanceof Deno.errors.ConnectionRefused;
  }
}

/**
 * The message for a command that failed because no broker could be reached: when the failure
 * is a network one and every bootstrap server refuses connections,
 * `cannot connect to HOST:PORT (connection refused): is the broker running at HOST:PORT?`.
 * Needs `--allow-net` (it tries each bootstrap server once).
 *
 * @param e What the command threw.
 * @param bootstrap The command's bootstrap servers, comma-separated.
 * @returns The message, or `undefined` when the failure is something else.
 */
export async function unreachableMessage(
  e: unknown,
  bootstrap: string,
): Promise<string | undefined> {
  if (!isNetworkFailure(e)) return undefined;
  const servers = bootstrap.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (servers.length === 0) return undefined;
  for (const s of servers) if (!(await refuses(s))) return undefined;
  const list = servers.join(", ");
  return `cannot connect to ${list} (connection refused): is the broker running at ${list}?`;
}
