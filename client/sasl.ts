// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * SASL for our client: authenticate a new connection with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
 * (SaslHandshake v1, then SaslAuthenticate), the settings as Kafka clients name them
 * (`security.protocol`, `sasl.mechanism`, `sasl.username`, `sasl.password` or
 * `sasl.jaas.config`), and SCRAM credentials for AlterUserScramCredentials (the salted password
 * is computed here, so the broker never sees the password).
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { MessageCodec } from "../protocol/primitives.ts";
import {
  SaslAuthenticateRequest,
  SaslAuthenticateResponse,
} from "../protocol/messages/sasl_authenticate.ts";
import {
  SaslHandshakeRequest,
  SaslHandshakeResponse,
} from "../protocol/messages/sasl_handshake.ts";
import { saltedPassword, SCRAM_MECHANISMS, type ScramMechanism } from "../protocol/scram.ts";
import { saslLogin } from "../protocol/sasl_login.ts";

export type { ScramMechanism } from "../protocol/scram.ts";

/** A SASL mechanism our client speaks. */
export type SaslMechanism = "PLAIN" | ScramMechanism;

/** SASL settings of a client. */
export interface SaslOptions {
  /** `sasl.mechanism`. */
  mechanism: SaslMechanism;
  /** The user name. */
  username: string;
  /** The password. */
  password: string;
}

/** What {@linkcode saslAuthenticate} needs of a connection: to send a request. */
export interface SaslTransport {
  /** `host:port`, for messages. */
  readonly address: string;
  /** Send one request and return its response. */
  send<Req, Res>(
    api: { request: MessageCodec<Req>; response: MessageCodec<Res> },
    body: Req,
  ): Promise<Res>;
}

/** The session lifetime the broker gave (KIP-368), ms; 0 for none. */
export interface SaslSession {
  /** `session_lifetime_ms` of the last SaslAuthenticate response; 0: no re-authentication. */
  sessionLifetimeMs: number;
}

/**
 * Authenticate a connection (after ApiVersions): SaslHandshake v1 with the mechanism, then the
 * mechanism's SaslAuthenticate round trips.
 *
 * @example
 * ```ts ignore
 * import { Connection } from "./connection.ts";
 * const conn = await Connection.connect({
 *   host: "localhost", port: 9092,
 *   sasl: { mechanism: "SCRAM-SHA-256", username: "alice", password: "alice-secret" },
 * });
 * ```
 *
 * @param conn The connection.
 * @param options Mechanism, user name and password.
 * @returns The session lifetime.
 * @throws {KafkaError} `UNSUPPORTED_SASL_MECHANISM`, `SASL_AUTHENTICATION_FAILED` (with the
 *   broker's reason), `ILLEGAL_SASL_STATE`.
 */
export async function saslAuthenticate(
  conn: SaslTransport,
  options: SaslOptions,
): Promise<SaslSession> {
  const what = `SASL ${options.mechanism} authentication to ${conn.address}`;
  const sessionLifetimeMs = await saslLogin({
    handshake: (mechanism) =>
      conn.send(
        { request: SaslHandshakeRequest, response: SaslHandshakeResponse },
        SaslHandshakeRequest.create({ mechanism }),
      ),
    authenticate: (authBytes) =>
      conn.send(
        { request: SaslAuthenticateRequest, response: SaslAuthenticateResponse },
        SaslAuthenticateRequest.create({ authBytes }),
      ),
    fail(f): never {
      switch (f.step) {
        case "handshake":
          throw new KafkaError(
            f.errorCode,
            `${what}: the broker enables [${f.mechanisms.join(", ")}]`,
          );
        case "authenticate":
          throw new KafkaError(f.errorCode, `${what}: ${f.errorMessage ?? "failed"}`);
        case "mechanism":
          throw new KafkaError(
            ErrorCode.UNSUPPORTED_SASL_MECHANISM,
            `${what}: mechanism not implemented by this client`,
          );
        case "scram":
          throw new KafkaError(ErrorCode.SASL_AUTHENTICATION_FAILED, `${what}: ${f.error.message}`);
      }
    },
  }, options);
  return { sessionLifetimeMs };
}

/**
 * SASL settings from Kafka client properties (a `--command-config` file): `security.protocol`
 * (`SASL_PLAINTEXT`, `SASL_SSL`; anything else: no SASL), `sasl.mechanism`, and either
 * `sasl.username`/`sasl.password` (librdkafka's) or `sasl.jaas.config` (Java's
 * `... username="u" password="p";`).
 *
 * @example
 * ```ts
 * import { saslOptionsFromProperties } from "./sasl.ts";
 * const o = saslOptionsFromProperties({
 *   "security.protocol": "SASL_PLAINTEXT",
 *   "sasl.mechanism": "SCRAM-SHA-256",
 *   "sasl.jaas.config": 'org.apache.kafka.common.security.scram.ScramLoginModule required ' +
 *     'username="alice" password="secret";',
 * });
 * console.assert(o?.username === "alice" && o.password === "secret");
 * ```
 *
 * @param props The properties.
 * @returns The settings, or undefined when the protocol does not use SASL.
 * @throws {RangeError} If SASL is asked for without a supported mechanism, user or password.
 */
export function saslOptionsFromProperties(
  props: Record<string, string>,
): SaslOptions | undefined {
  const protocol = (props["security.protocol"] ?? "PLAINTEXT").trim().toUpperCase();
  if (protocol !== "SASL_PLAINTEXT" && protocol !== "SASL_SSL") return undefined;
  const mechanism = (props["sasl.mechanism"] ?? props["sasl.mechanisms"] ?? "GSSAPI").trim()
    .toUpperCase();
  if (mechanism !== "PLAIN" && !SCRAM_MECHANISMS.has(mechanism as ScramMechanism)) {
    throw new RangeError(
      `Invalid value "${mechanism}" for "sasl.mechanism": use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`,
    );
  }
  let username: string | undefined = props["sasl.username"];
  let password: string | undefined = props["sasl.password"];
  const jaas = props["sasl.jaas.config"];
  if (jaas !== undefined) {
    username ??= /\busername\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(jaas)?.[1]?.replace(/\\(.)/g, "$1");
    password ??= /\bpassword\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(jaas)?.[1]?.replace(/\\(.)/g, "$1");
  }
  if (username === undefined || username === "" || password === undefined) {
    throw new RangeError(
      `SASL (${protocol}) needs a user and a password: set sasl.username and sasl.password, ` +
        `or sasl.jaas.config with username="..." password="..."`,
    );
  }
  return { mechanism: mechanism as SaslMechanism, username, password };
}

/** One SCRAM credential to set with AlterUserScramCredentials. */
export interface ScramCredentialUpsertion {
  /** The user. */
  user: string;
  /** The mechanism. */
  mechanism: ScramMechanism;
  /** Kafka's mechanism number. */
  mechanismType: number;
  /** PBKDF2 iterations. */
  iterations: number;
  /** The random salt. */
  salt: Uint8Array;
  /** PBKDF2(password, salt, iterations). */
  saltedPassword: Uint8Array;
}

/**
 * A new SCRAM credential for AlterUserScramCredentials, as Kafka's admin client makes it: a
 * random salt and the PBKDF2 salted password (the password itself is not sent).
 *
 * @param user The user.
 * @param mechanism The mechanism.
 * @param password The password (not sent).
 * @param iterations PBKDF2 iterations; default 4096.
 * @returns The upsertion.
 */
export async function scramUpsertion(
  user: string,
  mechanism: ScramMechanism,
  password: string,
  iterations = 4096,
): Promise<ScramCredentialUpsertion> {
  const mech = SCRAM_MECHANISMS.get(mechanism);
  if (mech === undefined) throw new RangeError(`Unknown SCRAM mechanism ${mechanism}`);
  const salt = crypto.getRandomValues(new Uint8Array(24));
  return {
    user,
    mechanism,
    mechanismType: mech.type,
    iterations,
    salt,
    // Kafka's admin client refuses nothing here; the broker checks the iteration range.
    saltedPassword: await saltedPassword(mech, password, salt, Math.max(1, iterations)),
  };
}
