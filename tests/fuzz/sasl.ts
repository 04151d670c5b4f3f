// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The protocol fuzzer's SASL part (issue #14): whole SASL exchanges against a real broker on a
 * `SASL_PLAINTEXT` listener, where the main fuzzer's one-request-then-sentinel cases cannot
 * reach (a SASL connection serves nothing but the exchange before it authenticates).
 *
 * Each exchange is built from its own random stream (seed, index): maybe ApiVersions, a
 * SaslHandshake (v0, v1, or out of range) with a real, odd or unknown mechanism, then one to
 * four tokens — real PLAIN and SCRAM messages (right or wrong credentials), mutated (bit flips,
 * truncation, inserted `,` `=` NUL 0xff, random bytes, repeated up to 64 KiB) or random — carried
 * by SaslAuthenticate v0-v2 (sometimes v3), or as bare frames after a v0 handshake; sometimes a
 * Metadata request out of turn, a second handshake (re-authentication) or a garbage frame.
 *
 * Checked: every answer decodes as the response of its request with its correlation id, or the
 * broker closes the connection; nothing waits longer than {@linkcode STEP_TIMEOUT_MS}; after each
 * batch a control client logs in with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 and is served; no
 * log line is an unexpected ERROR (the main fuzzer's classes); and at the end no connection is
 * left open.
 *
 * `deno task fuzz:sasl [--exchanges N] [--seed S]` runs it longer than CI does.
 *
 * @module
 */

import {
  concat,
  decodeBody,
  decodeResponseHeader,
  encodeRequestFrame,
} from "../../protocol/framing.ts";
import type { MessageCodec } from "../../protocol/primitives.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../../protocol/messages/api_versions.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import {
  SaslAuthenticateRequest,
  SaslAuthenticateResponse,
} from "../../protocol/messages/sasl_authenticate.ts";
import {
  SaslHandshakeRequest,
  SaslHandshakeResponse,
} from "../../protocol/messages/sasl_handshake.ts";
import { SCRAM_MECHANISMS, ScramClient, type ScramMechanism } from "../../protocol/scram.ts";
import { Client } from "../../client/client.ts";
import type { SaslOptions } from "../../client/sasl.ts";
import { scramUpsertion } from "../../client/sasl.ts";
import { Broker } from "../../server/broker.ts";
import { formatLogLine, type Logger } from "../../server/logger.ts";
import { ScramCredentialStore } from "../../server/security/scram_credentials.ts";
import { classifyLine } from "./broker_process.ts";
import { Rng } from "./rng.ts";
import { FrameSplitter } from "../../protocol/framing.ts";

/** Longest wait for one answer (or the close) before the exchange counts as a hang. */
export const STEP_TIMEOUT_MS = 5_000;

const JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required " +
  'user_alice="alice-secret" user_admin="admin-secret";';
const LOGINS: SaslOptions[] = [
  { mechanism: "PLAIN", username: "alice", password: "alice-secret" },
  { mechanism: "SCRAM-SHA-256", username: "bob", password: "bob-256" },
  { mechanism: "SCRAM-SHA-512", username: "bob", password: "bob-512" },
];
const te = new TextEncoder();

/** Options of {@linkcode runSaslFuzz}. */
export interface SaslFuzzOptions {
  /** Seed of the run. */
  seed: number;
  /** Exchanges to run. */
  exchanges: number;
  /** Exchanges between two control logins. Default 100. */
  batchSize?: number;
  /** Stop early (not a failure) after this long, ms. Default 120000. */
  maxMs?: number;
}

/** What a run found. */
export interface SaslFuzzReport {
  /** Exchanges run. */
  exchanges: number;
  /** Exchanges that ended authenticated. */
  authenticated: number;
  /** Exchanges the broker closed. */
  closed: number;
  /** Answers received and decoded. */
  answers: number;
  /** What went wrong (empty: the broker held). */
  failures: string[];
}

/** One connection driven step by step. */
class Conn {
  readonly #tcp: Deno.TcpConn;
  readonly #splitter = new FrameSplitter(1 << 30);
  readonly #frames: Uint8Array[] = [];
  #eof = false;
  #correlation = 1;

  constructor(tcp: Deno.TcpConn) {
    this.#tcp = tcp;
  }

  async write(bytes: Uint8Array): Promise<boolean> {
    try {
      let off = 0;
      while (off < bytes.length) off += await this.#tcp.write(bytes.subarray(off));
      return true;
    } catch {
      return false; // closed by the broker
    }
  }

  async request<Req>(codec: MessageCodec<Req>, version: number, body: Req): Promise<number> {
    const id = this.#correlation++;
    await this.write(encodeRequestFrame(codec, version, id, "sasl-fuzz", body));
    return id;
  }

  /** The next frame, null on close; throws after {@linkcode STEP_TIMEOUT_MS}. */
  async frame(): Promise<Uint8Array | null> {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    const buf = new Uint8Array(65536);
    for (;;) {
      const f = this.#frames.shift();
      if (f !== undefined) return f;
      if (this.#eof) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        this.#tcp.read(buf).catch(() => null),
        new Promise<"timeout">((r) => {
          timer = setTimeout(() => r("timeout"), Math.max(1, deadline - Date.now()));
        }),
      ]);
      clearTimeout(timer);
      if (n === "timeout") throw new Error(`no answer and no close within ${STEP_TIMEOUT_MS} ms`);
      if (n === null) {
        this.#eof = true;
        continue;
      }
      for (const fr of this.#splitter.push(buf.slice(0, n))) this.#frames.push(fr);
    }
  }

  close(): void {
    try {
      this.#tcp.close();
    } catch {
      // already closed
    }
  }
}

/** Mutate bytes one to three times. */
function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  let b: Uint8Array = input.slice();
  for (let n = rng.int(1, 3); n > 0; n--) {
    const at = b.length === 0 ? 0 : rng.int(0, b.length - 1);
    switch (rng.int(0, 6)) {
      case 0:
        if (b.length > 0) b[at] ^= 1 << rng.int(0, 7);
        break;
      case 1:
        b = b.slice(0, at);
        break;
      case 2: {
        const ins = rng.pick([[0x2c], [0x3d], [0], [0xff], [0xc3, 0x28], [0x3d, 0x32]]);
        b = concat([b.slice(0, at), new Uint8Array(ins), b.slice(at)]);
        break;
      }
      case 3:
        b = concat([b.slice(0, at), rng.bytes(rng.int(1, 16)), b.slice(at)]);
        break;
      case 4: {
        const times = rng.pick([2, 10, 100, 2000]);
        const parts: Uint8Array[] = [];
        for (let i = 0; i < times && parts.length * b.length < 65536; i++) parts.push(b);
        b = concat(parts);
        break;
      }
      case 5:
        b = rng.bytes(rng.int(0, 64));
        break;
      default:
        b = te.encode(new TextDecoder().decode(b).replace(/,/g, rng.pick(["", ",,", ",x="])));
    }
  }
  return b;
}

/** Run one exchange; returns how it ended, or throws a failure. */
async function exchange(
  port: number,
  rng: Rng,
): Promise<{ authenticated: boolean; closed: boolean; answers: number }> {
  const conn = new Conn(await Deno.connect({ hostname: "127.0.0.1", port }));
  let answers = 0;
  let authenticated = false;
  /** Send a request and check its answer; false when the broker closed instead. */
  const roundTrip = async <Req, Res>(
    req: MessageCodec<Req>,
    res: MessageCodec<Res>,
    version: number,
    body: Req,
  ): Promise<Res | null> => {
    const id = await conn.request(req, version, body);
    const frame = await conn.frame();
    if (frame === null) return null;
    const v = version >= req.minVersion && version <= req.maxVersion ? version : 0;
    const { header, bodyOffset } = decodeResponseHeader(frame, res.apiKey, v);
    if (header.correlationId !== id) {
      throw new Error(
        `${req.name} v${version}: correlation id ${header.correlationId}, sent ${id}`,
      );
    }
    answers++;
    return decodeBody(res, frame, bodyOffset, v);
  };
  try {
    if (rng.chance(0.5)) {
      const av = await roundTrip(
        ApiVersionsRequest,
        ApiVersionsResponse,
        rng.int(0, 3),
        ApiVersionsRequest.create({}),
      );
      if (av === null) throw new Error("ApiVersions before authentication: closed");
    }
    for (let round = 0; round < (rng.chance(0.15) ? 2 : 1); round++) {
      const login = rng.pick(LOGINS);
      const mechanism = rng.chance(0.85)
        ? (rng.chance(0.9) ? login.mechanism : login.mechanism.toLowerCase())
        : rng.pick(["", "GSSAPI", "OAUTHBEARER", "x".repeat(rng.int(1, 3000)), "PLAIN\u0000"]);
      const hsVersion = rng.chance(0.95) ? rng.int(0, 1) : rng.pick([2, 5, -1]);
      if (hsVersion < 0 || hsVersion > 1) {
        // Not decodable: the broker closes the connection.
        const f = encodeRequestFrame(SaslHandshakeRequest, 1, 99, "x", { mechanism });
        new DataView(f.buffer, f.byteOffset).setInt16(6, hsVersion);
        await conn.write(f);
        if ((await conn.frame()) !== null) throw new Error(`SaslHandshake v${hsVersion} answered`);
        return { authenticated, closed: true, answers };
      }
      const hs = await roundTrip(SaslHandshakeRequest, SaslHandshakeResponse, hsVersion, {
        mechanism,
      });
      if (hs === null || hs.errorCode !== 0) {
        return { authenticated, closed: (await conn.frame()) === null, answers };
      }
      const right = rng.chance(0.6);
      const password = right ? login.password : "wrong";
      const scramMech = SCRAM_MECHANISMS.get(mechanism as ScramMechanism);
      const scram = scramMech && new ScramClient(scramMech, login.username, password);
      let token: Uint8Array | null = scram
        ? scram.first()
        : te.encode(`\u0000${login.username}\u0000${password}`);
      for (let step = 0; step < 4 && token !== null; step++) {
        if (rng.chance(0.3)) token = mutate(rng, token);
        if (rng.chance(0.05)) {
          // Out of turn: a Metadata request in the middle of the exchange.
          const md = await roundTrip(
            MetadataRequest,
            MetadataResponse,
            9,
            MetadataRequest.create({
              topics: [],
            }),
          );
          if (md !== null) throw new Error("Metadata served during the SASL exchange");
          return { authenticated, closed: true, answers };
        }
        let reply: Uint8Array | null;
        if (hsVersion === 0) {
          const size = new Uint8Array(4);
          new DataView(size.buffer).setInt32(0, token.length);
          await conn.write(concat([size, token]));
          reply = await conn.frame();
          if (reply === null) return { authenticated, closed: true, answers };
          answers++;
        } else {
          const v = rng.chance(0.97) ? rng.int(0, 2) : 3;
          if (v === 3) {
            // Beyond what the codec decodes: the broker closes the connection.
            const f = encodeRequestFrame(SaslAuthenticateRequest, 2, 99, "x", { authBytes: token });
            new DataView(f.buffer, f.byteOffset).setInt16(6, v);
            await conn.write(f);
            if ((await conn.frame()) !== null) throw new Error("SaslAuthenticate v3 answered");
            return { authenticated, closed: true, answers };
          }
          const res = await roundTrip(
            SaslAuthenticateRequest,
            SaslAuthenticateResponse,
            v,
            SaslAuthenticateRequest.create({ authBytes: token }),
          );
          if (res === null) return { authenticated, closed: true, answers };
          if (res.errorCode !== 0) {
            if ((await conn.frame()) !== null) throw new Error("not closed after a failure");
            return { authenticated, closed: true, answers };
          }
          reply = res.authBytes;
        }
        if (scram && step === 0) {
          try {
            token = await scram.final(reply);
          } catch {
            token = rng.bytes(rng.int(0, 100));
          }
        } else {
          token = null;
          authenticated = true;
        }
      }
    }
    if (authenticated && rng.chance(0.5)) {
      const md = await roundTrip(
        MetadataRequest,
        MetadataResponse,
        9,
        MetadataRequest.create({
          topics: [],
        }),
      );
      if (md === null) throw new Error("Metadata after authentication: closed");
    }
    return { authenticated, closed: false, answers };
  } finally {
    conn.close();
  }
}

/**
 * Start a SASL_PLAINTEXT broker (PLAIN users and SCRAM credentials) and fuzz its SASL exchange.
 * Needs `--allow-all`.
 *
 * @param options Seed, count, batch size, time bound.
 * @returns What happened.
 */
export async function runSaslFuzz(options: SaslFuzzOptions): Promise<SaslFuzzReport> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-sasl-fuzz-" });
  const store = await ScramCredentialStore.open(dir);
  for (const l of LOGINS.slice(1)) {
    const u = await scramUpsertion(l.username, l.mechanism as ScramMechanism, l.password);
    await store.apply([{ ...u, op: "upsert" }]);
  }
  const report: SaslFuzzReport = {
    exchanges: 0,
    authenticated: 0,
    closed: 0,
    answers: 0,
    failures: [],
  };
  const log = (level: "debug" | "info" | "warn" | "error") => (m: string) => {
    const c = classifyLine(formatLogLine(new Date(), level, m));
    if (!c.expected) report.failures.push(`unexpected log line: ${m.slice(0, 300)}`);
  };
  const logger: Logger = {
    debug: () => {},
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
  };
  const broker = await Broker.start({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    logger,
    saslJaasConfigs: { "sasl_plaintext.plain": JAAS },
    connectionFailedAuthenticationDelayMs: 0,
    connectionsMaxReauthMs: 60_000,
    offsetsTopicNumPartitions: 1,
    transactionStateLogNumPartitions: 1,
  });
  const started = Date.now();
  const batch = options.batchSize ?? 100;
  try {
    for (let i = 0; i < options.exchanges; i++) {
      if (Date.now() - started > (options.maxMs ?? 120_000)) break;
      try {
        const r = await exchange(broker.port, Rng.forCase(options.seed, i));
        report.answers += r.answers;
        if (r.authenticated) report.authenticated++;
        if (r.closed) report.closed++;
      } catch (e) {
        report.failures.push(`exchange ${i} (seed ${options.seed}): ${(e as Error).message}`);
      }
      report.exchanges++;
      if ((i + 1) % batch === 0 || i === options.exchanges - 1) {
        for (const sasl of LOGINS) {
          const client = new Client({
            bootstrapServers: `127.0.0.1:${broker.port}`,
            sasl,
            retries: 0,
            requestTimeoutMs: STEP_TIMEOUT_MS,
          });
          try {
            await client.refreshMetadata([]);
          } catch (e) {
            report.failures.push(`control login ${sasl.mechanism} after exchange ${i}: ${e}`);
          } finally {
            client.close();
          }
        }
      }
      if (report.failures.length >= 10) break;
    }
    // Every connection the fuzzer opened is closed by now; the broker must have let go of them.
    const until = Date.now() + STEP_TIMEOUT_MS;
    while (broker.connectionQueuedBytes().size > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const left = broker.connectionQueuedBytes().size;
    if (left > 0) report.failures.push(`${left} connections still open at the end`);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return report;
}

if (import.meta.main) {
  const arg = (name: string, dflt: number) => {
    const i = Deno.args.indexOf(`--${name}`);
    return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
  };
  const report = await runSaslFuzz({
    seed: arg("seed", Date.now() % 1_000_000),
    exchanges: arg("exchanges", 20_000),
    maxMs: arg("max-ms", 600_000),
  });
  console.log(JSON.stringify(report, null, 2));
  Deno.exit(report.failures.length === 0 ? 0 : 1);
}
