// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Captures, with a recording proxy, every request that librdkafka 2.0.2 (Debian) and 2.15.1
 * (`tools/librdkafka.ts`) send with bytes after the request's last field, while kcat and
 * `clients/rdkafka_admin.c` run metadata, produce, consume, consumer-group and group-admin
 * operations against a Sluice broker. Writes the first frame of each kind (librdkafka version,
 * API, version, trailing byte count), byte for byte, to `testdata/trailing_bytes_requests.json`,
 * which `trailing_bytes_test.ts` replays.
 *
 * Run: `deno run -A tests/interop/capture_requests.ts` (builds librdkafka 2.15.1 on first use).
 *
 * @module
 */

import { runCommand } from "../harness.ts";
import {
  compileAdmin,
  DEBIAN_VERSION,
  loadedVersion,
  MODERN_VERSION,
  modernLibrdkafka,
} from "./modern_librdkafka.ts";
import { inspectRequest, startBrokerBehindProxy } from "./recording_proxy.ts";

/** One captured frame, as stored in the fixture file. */
export interface CapturedRequest {
  /** `"librdkafka 2.15.1"`. */
  client: string;
  /** The command that sent it. */
  command: string;
  /** API name. */
  api: string;
  /** API key. */
  apiKey: number;
  /** API version. */
  apiVersion: number;
  /** Bytes after the last declared field. */
  trailingBytes: number;
  /** The whole frame (size prefix included), lowercase hex. */
  frame: string;
}

/** The fixture file. */
export interface CapturedRequests {
  /** How the file was made. */
  about: string;
  /** The frames. */
  requests: CapturedRequest[];
}

/** Where the fixtures live. */
export const FIXTURE: URL = new URL("./testdata/trailing_bytes_requests.json", import.meta.url);

/**
 * Hex to bytes.
 *
 * @param hex Lowercase or uppercase hex digits.
 * @returns The bytes.
 */
export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function capture(): Promise<CapturedRequests> {
  const modern = await modernLibrdkafka();
  if (!modern.lib) throw new Error(`capture: librdkafka ${MODERN_VERSION}: ${modern.problem}`);
  const out = await Deno.makeTempDir({ prefix: "sluice_capture_" });
  const b = await startBrokerBehindProxy({ numPartitions: 2 });
  try {
    const libs = [
      { version: DEBIAN_VERSION, env: {}, admin: await compileAdmin(out) },
      { version: MODERN_VERSION, env: modern.env, admin: await compileAdmin(out, modern) },
    ];
    const found = new Map<string, CapturedRequest>();
    for (const lib of libs) {
      if (lib.admin.path === null) throw new Error(`capture: ${lib.admin.requirement.message}`);
      const kcatVersion = await loadedVersion("kcat", lib.env);
      if (kcatVersion !== lib.version) {
        throw new Error(`capture: kcat runs on librdkafka ${kcatVersion}, not ${lib.version}`);
      }
      const topic = `capture-${lib.version}`;
      const group = `capture-group-${lib.version}`;
      const kcat = ["kcat", "-b", b.bootstrap];
      const admin = [lib.admin.path, b.bootstrap];
      const commands: [string[], string?][] = [
        [[...kcat, "-P", "-t", topic, "-K", ":", "-X", "enable.idempotence=true"], "a:1\nb:2\n"],
        [[...kcat, "-L"]],
        [[...kcat, "-L", "-t", topic]],
        [[...kcat, "-C", "-t", topic, "-o", "beginning", "-e"]],
        [[...kcat, "-G", group, "-o", "beginning", "-c", "2", "-e", topic]],
        [[...admin, "list_groups"]],
        [[...admin, "describe_groups", group]],
        [[...admin, "list_offsets", group]],
        [[...admin, "list_offsets", group, `${topic}:0`]],
        [[...admin, "alter_offsets", group, `${topic}:0:1`]],
        [[...admin, "delete_offsets", group, `${topic}:1`]],
        [[...admin, "delete_group", group]],
      ];
      // DescribeCluster came with librdkafka 2.3.
      if (lib.version !== DEBIAN_VERSION) commands.push([[...admin, "describe_cluster"]]);
      for (const [argv, stdin] of commands) {
        const from = b.proxy.requests.length;
        const r = await runCommand(argv[0], argv.slice(1), { env: lib.env, stdin });
        const program = argv[0] === "kcat" ? "kcat" : "rdkafka_admin";
        const label = [program, ...argv.slice(1)].join(" ").replace(b.bootstrap, "BOOTSTRAP");
        if (r.code !== 0) {
          throw new Error(`capture: ${label}: exit ${r.code}\n${r.stdout}${r.stderr}`);
        }
        for (const rec of b.proxy.requests.slice(from)) {
          const shape = inspectRequest(rec.frame);
          if (shape.trailingBytes === 0) continue;
          const key = `${lib.version}/${shape.apiKey}/${shape.apiVersion}/${shape.trailingBytes}`;
          if (found.has(key)) continue;
          found.set(key, {
            client: `librdkafka ${lib.version}`,
            command: label,
            api: shape.name,
            apiKey: shape.apiKey,
            apiVersion: shape.apiVersion,
            trailingBytes: shape.trailingBytes,
            frame: toHex(rec.frame),
          });
        }
      }
    }
    return {
      about: "Request frames librdkafka sends with bytes after the request's last field " +
        "(Kafka ignores them), captured byte for byte by tests/interop/capture_requests.ts " +
        "through a recording proxy; replayed by tests/interop/trailing_bytes_test.ts.",
      requests: [...found.values()],
    };
  } finally {
    await b.close();
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  try {
    const result = await capture();
    await Deno.writeTextFile(FIXTURE, JSON.stringify(result, null, 2) + "\n");
    for (const r of result.requests) {
      console.log(
        `${r.client}: ${r.api} v${r.apiVersion}, ${r.trailingBytes} trailing bytes (${r.command})`,
      );
    }
    console.log(`wrote ${FIXTURE.pathname}`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    Deno.exit(1);
  }
}
