// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The client's side of a SASL login to a Kafka broker: SaslHandshake with the mechanism, then the
 * mechanism's SaslAuthenticate round trips (one for PLAIN, client-first and client-final for
 * SCRAM, whose server signature is then checked). Our client (`client/sasl.ts`) and the brokers'
 * connections to each other (`server/broker_connection.ts`) both log in this way; each sends the
 * requests at its own versions and words its own errors.
 *
 * @module
 */

import type { SaslAuthenticateResponse } from "./messages/sasl_authenticate.ts";
import type { SaslHandshakeResponse } from "./messages/sasl_handshake.ts";
import {
  type saltedPassword,
  SCRAM_MECHANISMS,
  ScramClient,
  ScramError,
  type ScramMechanism,
} from "./scram.ts";

/** Who logs in, and how. */
export interface SaslCredentials {
  /** PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. */
  mechanism: "PLAIN" | ScramMechanism;
  /** The user name. */
  username: string;
  /** The password. */
  password: string;
}

/** Why a login failed. */
export type SaslLoginFailure =
  /** The broker refused the mechanism in SaslHandshake. */
  | { step: "handshake"; errorCode: number; mechanisms: string[] }
  /** The broker refused a SaslAuthenticate (a wrong password, ...). */
  | { step: "authenticate"; errorCode: number; errorMessage: string | null }
  /** The mechanism is not one this side implements. */
  | { step: "mechanism" }
  /** The broker's SCRAM message was malformed, or its signature wrong. */
  | { step: "scram"; error: ScramError };

/** How {@linkcode saslLogin} talks to the broker, and how it fails. */
export interface SaslLoginExchange {
  /** Sends SaslHandshake with the mechanism and returns its response. */
  handshake(mechanism: string): Promise<SaslHandshakeResponse>;
  /** Sends SaslAuthenticate with the token and returns its response. */
  authenticate(authBytes: Uint8Array): Promise<SaslAuthenticateResponse>;
  /** Throws the caller's error for a failure. */
  fail(failure: SaslLoginFailure): never;
  /** The SCRAM salted password (PBKDF2); default {@linkcode saltedPassword}. */
  derive?: typeof saltedPassword;
}

const encoder = new TextEncoder();

/**
 * Logs in: SaslHandshake, then SaslAuthenticate until the mechanism is done.
 *
 * @example
 * ```ts ignore
 * const lifetimeMs = await saslLogin({
 *   handshake: (mechanism) => send(SaslHandshakeRequest, { mechanism }),
 *   authenticate: (authBytes) => send(SaslAuthenticateRequest, { authBytes }),
 *   fail: (f) => { throw new Error(`SASL login failed: ${f.step}`); },
 * }, { mechanism: "SCRAM-SHA-256", username: "alice", password: "alice-secret" });
 * ```
 *
 * @param exchange The requests, the errors.
 * @param credentials Mechanism, user name and password.
 * @returns `session_lifetime_ms` of the last SaslAuthenticate response (0: no re-authentication).
 * @throws {Error} What `exchange.fail` throws, or what the requests throw.
 */
export async function saslLogin(
  exchange: SaslLoginExchange,
  credentials: SaslCredentials,
): Promise<number> {
  const hs = await exchange.handshake(credentials.mechanism);
  if (hs.errorCode !== 0) {
    exchange.fail({ step: "handshake", errorCode: hs.errorCode, mechanisms: hs.mechanisms });
  }
  const round = async (token: Uint8Array) => {
    const res = await exchange.authenticate(token);
    if (res.errorCode !== 0) {
      exchange.fail({
        step: "authenticate",
        errorCode: res.errorCode,
        errorMessage: res.errorMessage,
      });
    }
    return res;
  };
  const { mechanism, username, password } = credentials;
  if (mechanism === "PLAIN") {
    return Number(
      (await round(encoder.encode(`\u0000${username}\u0000${password}`))).sessionLifetimeMs,
    );
  }
  const mech = SCRAM_MECHANISMS.get(mechanism);
  if (mech === undefined) return exchange.fail({ step: "mechanism" });
  const scram = new ScramClient(mech, username, password, undefined, exchange.derive);
  try {
    const first = await round(scram.first());
    const final = await round(await scram.final(first.authBytes));
    await scram.verify(final.authBytes);
    return Number(final.sessionLifetimeMs);
  } catch (e) {
    if (e instanceof ScramError) exchange.fail({ step: "scram", error: e });
    throw e;
  }
}
