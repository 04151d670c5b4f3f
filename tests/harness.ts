// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test harness for the interop suite: a real in-process broker on a free port with a fresh data
 * directory, subprocesses with a hard timeout, and a gate that skips (or, in CI, fails) the tests
 * of a Kafka client that is not installed.
 *
 * Requires `--allow-all` (network, temp files, subprocesses, env).
 *
 * @module
 */

import { Broker } from "../server/mod.ts";
import type { BrokerConfig } from "../server/config.ts";
import { Admin } from "../client/admin.ts";
import { Client, type ClientOptions } from "../client/client.ts";

/** A running broker owned by a test file, with the data directory it writes to. */
export interface TestBroker {
  /** The broker itself (a new one after {@linkcode TestBroker.restart}). */
  broker: Broker;
  /** The TCP port it listens on (127.0.0.1); changes on restart. */
  port: number;
  /** `"127.0.0.1:PORT"`, what clients take as bootstrap servers; changes on restart. */
  bootstrap: string;
  /** The temporary data directory (removed by {@linkcode TestBroker.close}). */
  dataDir: string;
  /** Close the broker and start a new one on the same data directory (and a new port). */
  restart(): Promise<void>;
  /** Close the broker and remove its data directory. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Start a broker on `127.0.0.1` with a free port, a fresh temporary data directory and no log
 * output (`SLUICE_TEST_LOG=debug` shows the broker's log). `overrides` are merged over those
 * settings; `group.initial.rebalance.delay.ms` is 0, as in Kafka's own tests.
 *
 * @example Start and stop a broker
 * ```ts ignore
 * import { startBroker } from "./harness.ts";
 *
 * const b = await startBroker();
 * console.log(b.bootstrap); // 127.0.0.1:PORT
 * await b.close();
 * ```
 *
 * @param overrides Broker settings to use instead of the harness defaults.
 * @returns The running broker; call `close()` when done.
 * @throws {Error} When the broker cannot start (the data directory is then removed).
 */
export async function startBroker(overrides: Partial<BrokerConfig> = {}): Promise<TestBroker> {
  const dataDir = await Deno.makeTempDir({ prefix: "sluice_interop_" });
  const start = () =>
    Broker.start({
      listeners: "PLAINTEXT://127.0.0.1:0",
      logDirs: [dataDir],
      logLevel: (Deno.env.get("SLUICE_TEST_LOG") as BrokerConfig["logLevel"]) ?? "silent",
      groupInitialRebalanceDelayMs: 0,
      ...overrides,
    });
  let first: Broker;
  try {
    first = await start();
  } catch (err) {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    throw new Error(`start broker: ${err instanceof Error ? err.message : err}`, { cause: err });
  }
  let closed: Promise<void> | undefined;
  const tb: TestBroker = {
    broker: first,
    port: first.port,
    bootstrap: `127.0.0.1:${first.port}`,
    dataDir,
    async restart(): Promise<void> {
      if (closed) throw new Error("restart broker: it was closed");
      await tb.broker.close();
      try {
        tb.broker = await start();
      } catch (err) {
        throw new Error(`restart broker: ${err instanceof Error ? err.message : err}`, {
          cause: err,
        });
      }
      tb.port = tb.broker.port;
      tb.bootstrap = `127.0.0.1:${tb.port}`;
    },
    close(): Promise<void> {
      closed ??= (async () => {
        try {
          await tb.broker.close();
        } finally {
          await Deno.remove(dataDir, { recursive: true }).catch(() => {});
        }
      })();
      return closed;
    },
  };
  return tb;
}

/**
 * One broker shared by the tests of a file: started on first use, closed after the file's last
 * test (`Deno.test.afterAll`). Tests sharing it must use distinct topic names.
 *
 * @example Share a broker
 * ```ts ignore
 * import { sharedBroker } from "./harness.ts";
 *
 * const broker = sharedBroker();
 * Deno.test("uses the broker", async () => {
 *   const { bootstrap } = await broker();
 *   console.log(bootstrap);
 * });
 * ```
 *
 * @param overrides Broker settings, as for {@linkcode startBroker}.
 * @returns A function resolving to the shared broker.
 */
export function sharedBroker(overrides: Partial<BrokerConfig> = {}): () => Promise<TestBroker> {
  let started: Promise<TestBroker> | undefined;
  Deno.test.afterAll(async () => {
    if (started) await (await started.catch(() => undefined))?.close();
  });
  return () => (started ??= startBroker(overrides));
}

/**
 * The log end offset of partition 0 of `topic`, read with our client (Metadata, then ListOffsets
 * latest): what a test checks to see that nothing was written.
 *
 * @param options The client's settings (bootstrap servers, TLS, SASL); the client is closed after.
 * @param topic The topic.
 * @returns The offset, or -1 when there is no such topic.
 */
export async function endOffset(options: ClientOptions, topic: string): Promise<number> {
  const client = new Client(options);
  try {
    const md = await client.refreshMetadata([topic], { allowAutoTopicCreation: false })
      .catch(() => []);
    if (!md.some((t) => t.name === topic && t.partitions.length > 0)) return -1;
    const [o] = await new Admin(client).listOffsets([{ topic, partition: 0, spec: "latest" }]);
    return o.offset;
  } finally {
    client.close();
  }
}

let topicCounter = 0;

/**
 * A topic name unique within this process: `prefix-<pid>-<n>`.
 *
 * @param prefix Readable part of the name.
 * @returns The topic name.
 */
export function uniqueTopic(prefix: string): string {
  topicCounter++;
  return `${prefix}-${Deno.pid}-${topicCounter}`;
}

/** Options for {@linkcode runCommand}. */
export interface RunOptions {
  /** Text written to the child's stdin, which is then closed. Default: stdin is `/dev/null`. */
  stdin?: string | Uint8Array;
  /** Milliseconds before the child is killed with SIGKILL. Default 30000. */
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** What a finished (or killed) subprocess left behind. */
export interface RunResult {
  /** Exit code (non-zero when killed). */
  code: number;
  /** Everything written to stdout, as UTF-8. */
  stdout: string;
  /** Everything written to stderr, as UTF-8. */
  stderr: string;
  /** True when the child was killed because it outlived `timeoutMs`. */
  timedOut: boolean;
}

/**
 * Run a command to completion with a hard timeout, capturing stdout and stderr. Never hangs:
 * when the timeout fires the child is killed with SIGKILL and the result says `timedOut`.
 *
 * @example Run a command
 * ```ts ignore
 * import { runCommand } from "./harness.ts";
 *
 * const r = await runCommand("kcat", ["-V"], { timeoutMs: 5000 });
 * console.log(r.code, r.stdout);
 * ```
 *
 * @param cmd Program to run (looked up on PATH).
 * @param args Its arguments.
 * @param options stdin, timeout and environment.
 * @returns Exit code, output and whether it timed out.
 * @throws {Error} When the program cannot be started (e.g. not installed).
 */
export async function runCommand(
  cmd: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      env: options.env,
    }).spawn();
  } catch (err) {
    throw new Error(`run ${cmd}: ${err instanceof Error ? err.message : err}`, { cause: err });
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }, timeoutMs);
  try {
    if (options.stdin !== undefined) {
      const data = typeof options.stdin === "string"
        ? new TextEncoder().encode(options.stdin)
        : options.stdin;
      const writer = child.stdin.getWriter();
      try {
        await writer.write(data);
        await writer.close();
      } catch {
        // the child exited without reading its input; its exit code tells the story
      }
    }
    const out = await child.output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** The Python interpreter that has the Debian Kafka packages (not a pyenv one on PATH). */
export const PYTHON: string = "/usr/bin/python3";

/**
 * A client script run with extra environment variables, e.g. `LD_LIBRARY_PATH` pointing
 * confluent-kafka at another librdkafka.
 */
export interface ClientScript {
  /** File name in `tests/interop/clients/`, e.g. `"confluent_client.py"`. */
  file: string;
  /** Extra environment variables for the interpreter. */
  env: Record<string, string>;
}

/**
 * The file name of a client script, for messages and probes.
 *
 * @param script A file name or a {@linkcode ClientScript}.
 * @returns The file name.
 */
export function scriptFile(script: string | ClientScript): string {
  return typeof script === "string" ? script : script.file;
}

/**
 * Run one of the JSON client scripts under `tests/interop/clients/` and parse its answer.
 *
 * @param script File name in `tests/interop/clients/`, e.g. `"kafka_python_client.py"`, or a
 * {@linkcode ClientScript} carrying extra environment variables.
 * @param command Sub-command: `produce`, `consume`, `admin`, `offsets_for_times`.
 * @param request The JSON request (sent on stdin).
 * @param timeoutMs Hard limit for the subprocess. Default 30000.
 * @returns The parsed JSON answer.
 * @throws {Error} When the script times out, exits non-zero or prints no JSON; the message
 * carries the script's error and the tail of its stderr.
 */
export async function runClientScript<T = Record<string, unknown>>(
  script: string | ClientScript,
  command: string,
  request: unknown,
  timeoutMs = 30_000,
): Promise<T> {
  const file = scriptFile(script);
  const path = new URL(`./interop/clients/${file}`, import.meta.url).pathname;
  const r = await runCommand(PYTHON, [path, command], {
    stdin: JSON.stringify(request),
    timeoutMs,
    env: typeof script === "string" ? undefined : script.env,
  });
  const tail = r.stderr.split("\n").slice(-15).join("\n");
  if (r.timedOut) {
    throw new Error(`${file} ${command}: timed out after ${timeoutMs} ms\n${tail}`);
  }
  const last = r.stdout.trim().split("\n").pop() ?? "";
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(last);
  } catch {
    throw new Error(`${file} ${command}: exit ${r.code}, no JSON answer\n${tail}`);
  }
  if (r.code !== 0 || "error" in answer) {
    throw new Error(`${file} ${command}: ${answer.error ?? `exit ${r.code}`}\n${tail}`);
  }
  return answer as T;
}

/** How {@linkcode waitFor} polls. */
export interface WaitOptions {
  /** Give up after this many milliseconds: a guard against hangs, never a timing check.
   * Default 30000. */
  timeoutMs?: number;
  /** Pause between two checks, in milliseconds. Default 20. */
  intervalMs?: number;
  /** What to add to the error when time runs out (the state seen, logs). */
  detail?: () => string | Promise<string>;
}

/**
 * Checks `check` until it holds, pausing `intervalMs` between checks: the one wait loop of the
 * tests (the cluster harness's `until`, Streams' `eventually` and Connect's `until` use it).
 *
 * @example Wait for a flag
 * ```ts
 * import { waitFor } from "./harness.ts";
 *
 * let done = false;
 * setTimeout(() => done = true, 50);
 * await waitFor("the flag", () => done, { timeoutMs: 5000, intervalMs: 10 });
 * ```
 *
 * @param what What is awaited, for the error (a function: read when time runs out).
 * @param check The condition; an error it throws ends the wait with that error.
 * @param options Limit, pause and the detail for the error.
 * @returns How long it took, in milliseconds.
 * @throws {Error} `"timed out waiting for <what> (<timeoutMs> ms)"`, then `": <detail>"` when a
 *   detail callback gives one.
 */
export async function waitFor(
  what: string | (() => string),
  check: () => boolean | Promise<boolean>,
  options: WaitOptions = {},
): Promise<number> {
  const { timeoutMs = 30_000, intervalMs = 20, detail } = options;
  const start = performance.now();
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const name = typeof what === "string" ? what : what();
      const more = detail === undefined ? "" : await detail();
      throw new Error(`timed out waiting for ${name} (${timeoutMs} ms)${more ? `: ${more}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return performance.now() - start;
}

/**
 * Reject when `promise` has not settled within `ms`, so an in-process client call can never hang
 * the suite.
 *
 * @param promise The work.
 * @param ms Limit in milliseconds.
 * @param what Name of the work, used in the error.
 * @returns The promise's value.
 * @throws {Error} `"<what>: timed out after <ms> ms"`, or whatever `promise` rejects with.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The external Kafka clients the interop suite drives. */
export type ClientName =
  | "kcat"
  | "kafka-python"
  | "confluent-kafka"
  | "kafkajs"
  | "platformatic-kafka"
  | "burrow"
  | "sarama"
  | "kafka-go"
  | "optiopay"
  | "lua-resty-kafka"
  | "chromium";

/** Whether a client is usable, and how a test should treat it when it is not. */
export interface ClientRequirement {
  /** The client (or `a+b` for {@linkcode requireClients}). */
  name: string;
  /** True when the client was found. */
  available: boolean;
  /** True when its tests should be reported as ignored (missing, and not in CI). */
  ignore: boolean;
  /** Why it is missing and how to install it; empty when available. */
  message: string;
  /** Throw {@linkcode ClientRequirement.message} when the client is missing (CI). */
  assertAvailable(): void;
}

const INSTALL_HINTS: Record<ClientName, string> = {
  "kcat": "apt-get install kcat",
  "kafka-python": "apt-get install python3-kafka",
  "confluent-kafka": "apt-get install python3-confluent-kafka",
  "kafkajs": "needs the npm registry or a Deno cache with npm:kafkajs@2.2.4",
  "platformatic-kafka":
    "needs the npm registry or a Deno cache with npm:@platformatic/kafka@2.12.1",
  "burrow": "apt-get install burrow zookeeper (Burrow needs a ZooKeeper of its own)",
  "sarama": "apt-get install golang-go golang-github-shopify-sarama-dev",
  "kafka-go": "apt-get install golang-go golang-github-segmentio-kafka-go-dev",
  "optiopay": "apt-get install golang-go golang-github-optiopay-kafka-dev",
  "lua-resty-kafka": "apt-get install nginx libnginx-mod-http-lua lua-nginx-kafka",
  "chromium": "apt-get install chromium (the console's browser tests drive /usr/bin/chromium)",
};

/** The headless browser the console's tests drive (Debian's `chromium`). */
export const CHROMIUM = "/usr/bin/chromium";

/** Where Debian's `lua-nginx-kafka` puts lua-resty-kafka (module path `nginx.kafka.*`). */
export const RESTY_KAFKA = "/usr/share/lua/5.1/nginx/kafka/producer.lua";

/** Debian's nginx and the dynamic modules lua-resty-kafka needs (`libnginx-mod-http-lua`). */
export const NGINX = {
  binary: "/usr/sbin/nginx",
  modules: [
    "/usr/lib/nginx/modules/ndk_http_module.so",
    "/usr/lib/nginx/modules/ngx_http_lua_module.so",
  ],
};

/** Debian's Go sources, built offline in GOPATH mode. */
export const GO_SOURCES = "/usr/share/gocode";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function probe(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null", stdin: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const probed = new Map<ClientName, boolean>();

function probeClient(name: ClientName): boolean {
  let found = probed.get(name);
  if (found === undefined) {
    found = probeClientUncached(name);
    probed.set(name, found);
  }
  return found;
}

function probeClientUncached(name: ClientName): boolean {
  switch (name) {
    case "kcat":
      return probe("kcat", ["-V"]);
    case "kafka-python":
      return probe(PYTHON, ["-c", "import kafka"]);
    case "confluent-kafka":
      return probe(PYTHON, ["-c", "import confluent_kafka"]);
    case "kafkajs":
      return probe(Deno.execPath(), [
        "eval",
        "--no-config",
        "--no-lock",
        "await import('npm:kafkajs@2.2.4')",
      ]);
    case "platformatic-kafka":
      return probe(Deno.execPath(), [
        "eval",
        "--no-config",
        "--no-lock",
        "await import('npm:@platformatic/kafka@2.12.1')",
      ]);
    case "burrow":
      return exists("/usr/bin/Burrow") && exists("/usr/share/zookeeper/bin/zkServer.sh") &&
        probe("java", ["-version"]);
    case "sarama":
      return probe("go", ["version"]) && exists(`${GO_SOURCES}/src/github.com/Shopify/sarama`);
    case "kafka-go":
      return probe("go", ["version"]) &&
        exists(`${GO_SOURCES}/src/github.com/segmentio/kafka-go`);
    case "optiopay":
      return probe("go", ["version"]) &&
        exists(`${GO_SOURCES}/src/github.com/optiopay/kafka/v2/proto`);
    case "lua-resty-kafka":
      return exists(RESTY_KAFKA) && NGINX.modules.every(exists) && probe(NGINX.binary, ["-v"]);
    case "chromium":
      return exists(CHROMIUM) && probe(CHROMIUM, ["--version"]);
  }
}

/**
 * Check that a client is installed. When it is missing, its tests are ignored with a printed
 * message (`"kcat not installed: skipping; apt-get install kcat"`), except when `CI=true`, where
 * they run and fail with that message.
 *
 * @example Gate tests on kcat
 * ```ts ignore
 * import { interopTest, requireClient } from "./harness.ts";
 *
 * const kcat = requireClient("kcat");
 * interopTest(kcat, "metadata", async () => {});
 * ```
 *
 * @param name The client.
 * @returns The requirement, to pass to {@linkcode interopTest}.
 */
export function requireClient(name: ClientName): ClientRequirement {
  return clientRequirement(
    name,
    probeClient(name),
    Deno.env.get("CI") === "true",
    INSTALL_HINTS[name],
  );
}

/**
 * The decision behind {@linkcode requireClient}, without probing: a missing client is ignored
 * with a warning outside CI and fails in CI.
 *
 * @param name Client name used in messages.
 * @param available Whether it was found.
 * @param ci Whether running in CI (`CI=true`).
 * @param hint How to install it.
 * @returns The requirement.
 */
export function clientRequirement(
  name: string,
  available: boolean,
  ci: boolean,
  hint: string,
): ClientRequirement {
  const message = available ? "" : `${name} not installed: skipping; ${hint}`;
  if (!available) {
    console.warn(ci ? `${name} not installed: failing its tests because CI=true` : message);
  }
  return {
    name,
    available,
    ignore: !available && !ci,
    message,
    assertAvailable(): void {
      if (!available) throw new Error(`${name} not installed: ${hint}`);
    },
  };
}

/**
 * Require several clients at once (for cross-client tests): available only when all are, and
 * ignored or failed under the same rules as {@linkcode requireClient}.
 *
 * @param names The clients.
 * @returns One combined requirement named `a+b+...`.
 */
export function requireClients(names: ClientName[]): ClientRequirement {
  const each = names.map((n) => requireClient(n));
  const missing = each.filter((c) => !c.available);
  const ci = Deno.env.get("CI") === "true";
  return {
    name: names.join("+"),
    available: missing.length === 0,
    ignore: missing.length > 0 && !ci,
    message: missing.map((c) => c.message).join("; "),
    assertAvailable(): void {
      for (const c of each) c.assertAvailable();
    },
  };
}

/**
 * Register a test that needs `client`: ignored when the client is missing outside CI, failing
 * when it is missing in CI. Op and resource sanitizers are off because the in-process broker keeps
 * serving connections across tests.
 *
 * @param client From {@linkcode requireClient}.
 * @param name Test name; the client name is prefixed.
 * @param fn The test body.
 */
export function interopTest(
  client: ClientRequirement,
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
): void {
  Deno.test({
    name: `${client.name}: ${name}`,
    ignore: client.ignore,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      client.assertAvailable();
      await fn(t);
    },
  });
}

/** A broker process with `sluice.workers=2` started by {@linkcode startShardedBroker}. */
export interface ShardedBroker {
  /** The process. */
  child: Deno.ChildProcess;
  /** The Kafka port every shard listens on (127.0.0.1). */
  port: number;
  /** The admin listener's port (`/metrics`), 0 without `sluice.http.listener`. */
  http: number;
  /** Every line it printed so far (stdout and stderr). */
  output: string[];
  /** Resolves when it exited and its output was read. */
  exited: Promise<Deno.CommandStatus>;
}

const SLUICE_MAIN = new URL("../cli/main.ts", import.meta.url).pathname;

/**
 * Start `sluice broker` as its own process with two shards (`sluice.workers=2`: connections
 * spread over both by the kernel) on a free port of 127.0.0.1 and `dir` as its log dir; resolves
 * once both shards listen and, with `sluice.http.listener=...` among `overrides`, the admin
 * listener too.
 *
 * @example
 * ```ts ignore
 * import { startShardedBroker, stopShardedBroker } from "./harness.ts";
 * const b = await startShardedBroker(dir, ["sluice.http.listener=http://127.0.0.1:0"]);
 * await fetch(`http://127.0.0.1:${b.http}/metrics`);
 * await stopShardedBroker(b);
 * ```
 *
 * @param dir The log dir.
 * @param overrides Broker settings (`key=value`, each passed as `--override`).
 * @param listeners `--listeners`; `port` is the first one's. Default `PLAINTEXT://127.0.0.1:0`.
 * @returns The running broker.
 * @throws {Error} When it exits or does not listen within 120 s (with its output).
 */
export async function startShardedBroker(
  dir: string,
  overrides: string[],
  listeners = "PLAINTEXT://127.0.0.1:0",
): Promise<ShardedBroker> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-net",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      SLUICE_MAIN,
      "broker",
      "--listeners",
      listeners,
      "--log-dirs",
      dir,
      ...["sluice.workers=2", ...overrides].flatMap((o) => ["--override", o]),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const wantsHttp = overrides.some((o) => o.startsWith("sluice.http.listener="));
  const output: string[] = [];
  let port = 0;
  let http = 0;
  let ready: () => void;
  const started = new Promise<void>((r) => ready = r);
  const read = async (s: ReadableStream<Uint8Array>) => {
    for await (const text of s.pipeThrough(new TextDecoderStream())) {
      for (const line of text.split("\n")) {
        if (line === "") continue;
        output.push(line);
        const m = /2 shards \(sluice\.workers\) listening on 127\.0\.0\.1:(\d+)/.exec(line);
        if (m) port = Number(m[1]);
        const h = /Web console on http:\/\/127\.0\.0\.1:(\d+)\//.exec(line);
        if (h) http = Number(h[1]);
        if (port !== 0 && (http !== 0 || !wantsHttp)) ready();
      }
    }
  };
  const reading = Promise.all([read(child.stdout), read(child.stderr)]);
  const exited = child.status.then(async (s) => {
    await reading;
    return s;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    started.then(() => "up"),
    exited.then(() => "exited"),
    new Promise<string>((r) => timer = setTimeout(() => r("timeout"), 120_000)),
  ]);
  clearTimeout(timer);
  if (outcome !== "up") {
    if (outcome === "timeout") child.kill("SIGKILL");
    await exited;
    throw new Error(`sharded broker did not start:\n${output.join("\n")}`);
  }
  return { child, port, http, output, exited };
}

/**
 * Stop a broker of {@linkcode startShardedBroker} with SIGTERM; fails unless it exits with 0.
 *
 * @param b The broker.
 * @throws {Error} When it exits with another status (with its output).
 */
export async function stopShardedBroker(b: ShardedBroker): Promise<void> {
  b.child.kill("SIGTERM");
  const status = await b.exited;
  if (status.code !== 0) {
    throw new Error(`sharded broker exited with ${status.code}:\n${b.output.join("\n")}`);
  }
}
