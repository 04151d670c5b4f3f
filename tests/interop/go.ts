/**
 * The Go interop clients (`clients/go/src/sluice_sarama`, `sluice_kafkago`, `sluice_optiopay`,
 * `sluice_confluentgo`, the last with cgo over Debian's librdkafka): built once per test process,
 * offline, in GOPATH mode against Debian's Go sources, then run like the
 * Python clients (a command, a JSON request on stdin, one JSON answer on stdout). That plumbing
 * is `clients/go/src/sluice_common`, which the programs import as `"sluice_common"`.
 *
 * @module
 */

import { GO_SOURCES, runCommand } from "../harness.ts";

/** The Go client programs. */
export type GoClient =
  | "sluice_sarama"
  | "sluice_kafkago"
  | "sluice_optiopay"
  | "sluice_confluentgo";

const GOPATH_OURS = new URL("./clients/go", import.meta.url).pathname;
const built = new Map<GoClient, Promise<string>>();

/**
 * Builds a Go client (once per process; Go's build cache makes later processes fast).
 * Requires `go` and the Debian Go library packages.
 *
 * @param client The program.
 * @returns The binary's path.
 */
export function goClient(client: GoClient): Promise<string> {
  let p = built.get(client);
  if (p === undefined) {
    p = (async () => {
      const dir = await Deno.makeTempDir({ prefix: `${client}_` });
      const bin = `${dir}/${client}`;
      const r = await runCommand("go", ["build", "-o", bin, client], {
        timeoutMs: 600_000,
        env: {
          GO111MODULE: "off",
          GOPATH: `${GOPATH_OURS}:${GO_SOURCES}`,
          GOFLAGS: "",
          CGO_CFLAGS: "-Wno-deprecated-declarations",
        },
      });
      if (r.code !== 0) throw new Error(`go build ${client} failed:\n${r.stderr}`);
      return bin;
    })();
    built.set(client, p);
  }
  return p;
}

/**
 * Runs one command of a Go client.
 *
 * @param client The program.
 * @param command `produce`, `consume`, `group`, ...
 * @param request The JSON request.
 * @param timeoutMs Kill after this long (default 60 s).
 * @returns The parsed answer.
 * @throws {Error} With the client's error and stderr tail when it fails.
 */
export async function runGoClient<T = Record<string, unknown>>(
  client: GoClient,
  command: string,
  request: unknown,
  timeoutMs = 60_000,
): Promise<T> {
  const bin = await goClient(client);
  const r = await runCommand(bin, [command], { stdin: JSON.stringify(request), timeoutMs });
  const tail = r.stderr.split("\n").slice(-15).join("\n");
  if (r.timedOut) throw new Error(`${client} ${command}: timed out after ${timeoutMs} ms\n${tail}`);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(last);
  } catch {
    throw new Error(`${client} ${command}: exit ${r.code}, no JSON answer\n${r.stdout}\n${tail}`);
  }
  if (r.code !== 0 || "error" in answer) {
    throw new Error(`${client} ${command}: ${answer.error ?? `exit ${r.code}`}\n${tail}`);
  }
  return answer as T;
}
