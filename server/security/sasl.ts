// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * SASL authentication of the connections of a `SASL_PLAINTEXT` (or `SASL_SSL`) listener, as
 * Kafka's `SaslServerAuthenticator` does it:
 *
 * - Before authentication a connection may send ApiVersions, then SaslHandshake; after a v1
 *   handshake only SaslAuthenticate requests carry the mechanism's tokens; after a v0 handshake
 *   the tokens follow as bare size-prefixed frames without request headers (old clients). Any
 *   other request closes the connection (logged), as in Kafka.
 * - A mechanism that is not enabled answers UNSUPPORTED_SASL_MECHANISM with the enabled ones and
 *   closes. A failed authentication answers SASL_AUTHENTICATION_FAILED with the reason and closes,
 *   after `connection.failed.authentication.delay.ms` (the answer waits; so does the client).
 * - Success sets the connection's principal to `User:<name>`. With `connections.max.reauth.ms`
 *   (KIP-368) SaslAuthenticate v1+ tells the client its session lifetime; once it is over, any
 *   request but a SaslHandshake (re-authentication) closes the connection. Re-authentication
 *   must keep the mechanism and the principal.
 *
 * Mechanisms: PLAIN (users from the listener's JAAS `user_<name>="<password>"` options) and
 * SCRAM-SHA-256/512 (credentials from {@linkcode ScramCredentialStore}: only StoredKey and
 * ServerKey, so a login costs two HMACs and a hash, no PBKDF2).
 *
 * @module
 */

import { isSaslProtocol } from "../config.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { encodeResponseFrame } from "../../protocol/framing.ts";
import {
  createSaslAuthenticateResponse,
  type SaslAuthenticateRequest,
  SaslAuthenticateResponse,
} from "../../protocol/messages/sasl_authenticate.ts";
import {
  createSaslHandshakeResponse,
  type SaslHandshakeRequest,
  SaslHandshakeResponse,
} from "../../protocol/messages/sasl_handshake.ts";
import {
  constantTimeEqual,
  SCRAM_MECHANISMS,
  ScramError,
  type ScramMechanism,
  ScramServer,
} from "../../protocol/scram.ts";
import type { RequestContext } from "../api.ts";
import { CloseConnection, type ConnectionInfo } from "../connection.ts";
import type { Logger } from "../logger.ts";
import { sleep } from "../sleep.ts";
import { type KafkaPrincipal, principalToString } from "./principal.ts";
import type { ScramCredentialStore } from "./scram_credentials.ts";

/** The SASL mechanisms Sluice implements. */
export const SUPPORTED_SASL_MECHANISMS: readonly string[] = [
  "PLAIN",
  "SCRAM-SHA-256",
  "SCRAM-SHA-512",
];

const API_VERSIONS_KEY = 18;
const SASL_HANDSHAKE_KEY = SaslHandshakeResponse.apiKey;
const SASL_AUTHENTICATE_KEY = SaslAuthenticateResponse.apiKey;

export { isSaslProtocol };

/** What {@linkcode SaslServer} needs. */
export interface SaslServerOptions {
  /** The enabled mechanisms of a listener (`[listener.name.<l>.]sasl.enabled.mechanisms`). */
  enabledMechanisms(listenerName: string): readonly string[];
  /** The PLAIN users of a listener (its JAAS `user_<name>` options), name -> password. */
  plainUsers(listenerName: string): ReadonlyMap<string, string>;
  /** The SCRAM credentials. */
  credentials: ScramCredentialStore;
  /** `connections.max.reauth.ms`; 0: sessions never expire. */
  maxReauthMs: number;
  /** `connection.failed.authentication.delay.ms`: how long a failure's answer waits. */
  failedAuthenticationDelayMs: number;
  /** Where to report. */
  logger: Logger;
  /** Aborted when the broker shuts down (ends failure delays). */
  closing: AbortSignal;
}

type State =
  /** Expecting ApiVersions or SaslHandshake. */
  | "handshake"
  /** After a v1 handshake: expecting SaslAuthenticate. */
  | "authenticate"
  /** After a v0 handshake: expecting raw tokens. */
  | "raw"
  /** Authenticated. */
  | "authenticated";

/** One mechanism's server side of an exchange. */
interface Exchange {
  /** Evaluate a client token; `done` once the client is authenticated as `username`. */
  step(token: Uint8Array): Promise<{ response: Uint8Array; done: boolean; username: string }>;
}

/** A failed authentication, with the reason sent to the client. */
class AuthenticationFailed extends Error {}

interface Session {
  state: State;
  mechanism: string;
  exchange: Exchange | null;
  /** The principal before a re-authentication began, which it must keep. */
  previous: KafkaPrincipal | null;
  previousMechanism: string;
  /** When the session expires (epoch ms), 0 for never. */
  expiresAt: number;
  /** Time spent evaluating tokens in this exchange, ms. */
  workMs: number;
}

const EMPTY = new Uint8Array(0);
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The broker's SASL authenticator: the state of each connection's exchange and the handlers'
 * logic for SaslHandshake and SaslAuthenticate.
 */
export class SaslServer {
  readonly #options: SaslServerOptions;
  readonly #sessions = new WeakMap<ConnectionInfo, Session>();

  /**
   * Create the authenticator.
   *
   * @param options Mechanisms, users, credentials and limits.
   */
  constructor(options: SaslServerOptions) {
    this.#options = options;
  }

  /** `connections.max.reauth.ms`. */
  get maxReauthMs(): number {
    return this.#options.maxReauthMs;
  }

  #session(info: ConnectionInfo): Session {
    let s = this.#sessions.get(info);
    if (s === undefined) {
      s = {
        state: "handshake",
        mechanism: "",
        exchange: null,
        previous: null,
        previousMechanism: "",
        expiresAt: 0,
        workMs: 0,
      };
      this.#sessions.set(info, s);
    }
    return s;
  }

  /**
   * Check one frame of a SASL listener's connection before it is decoded as a request. Returns
   * `undefined` to serve it as a request, or the answer to a bare (v0) SASL token.
   *
   * @param frame The frame, without its size prefix.
   * @param info The connection.
   * @returns The response chunks of a raw token, or undefined.
   * @throws {CloseConnection} For a request not allowed in the connection's state.
   */
  async gate(frame: Uint8Array, info: ConnectionInfo): Promise<Uint8Array[] | undefined> {
    const s = this.#session(info);
    if (s.state === "raw") return await this.#rawToken(frame, info, s);
    const apiKey = frame.length >= 2 ? (frame[0] << 8 | frame[1]) << 16 >> 16 : -1;
    if (s.state === "authenticated") {
      if (s.expiresAt !== 0 && Date.now() >= s.expiresAt && apiKey !== SASL_HANDSHAKE_KEY) {
        throw new CloseConnection(
          `SASL session of ${principalToString(info.principal!)} expired ` +
            `(connections.max.reauth.ms=${this.#options.maxReauthMs}) and the client sent API ` +
            `key ${apiKey} instead of re-authenticating`,
          "info",
        );
      }
      return undefined;
    }
    const allowed = s.state === "handshake"
      ? apiKey === API_VERSIONS_KEY || apiKey === SASL_HANDSHAKE_KEY
      : apiKey === SASL_AUTHENTICATE_KEY;
    if (!allowed) {
      throw new CloseConnection(
        `unexpected Kafka request of API key ${apiKey} during SASL ` +
          `${s.state === "handshake" ? "handshake" : "authentication"}` +
          (s.previous === null ? " (not authenticated)" : " (re-authentication)"),
        "info",
      );
    }
    return undefined;
  }

  /**
   * Serve SaslHandshake.
   *
   * @param ctx The request.
   * @param req The handshake.
   * @returns The response.
   * @throws {CloseConnection} With the response, when the mechanism is refused.
   */
  handshake(ctx: RequestContext, req: SaslHandshakeRequest): SaslHandshakeResponse {
    const info = ctx.connection;
    if (!isSaslProtocol(info.securityProtocol)) {
      return createSaslHandshakeResponse({ errorCode: ErrorCode.ILLEGAL_SASL_STATE });
    }
    const s = this.#session(info);
    const enabled = [...this.#options.enabledMechanisms(info.listenerName ?? "")];
    const refuse = (errorCode: number, why: string): never => {
      const response = createSaslHandshakeResponse({ errorCode, mechanisms: enabled });
      throw new CloseConnection(
        `SaslHandshake refused: ${why}`,
        "info",
        encodeResponseFrame(SaslHandshakeResponse, ctx.version, ctx.correlationId, response),
      );
    };
    if (s.state === "authenticated") {
      // KIP-368 re-authentication: only with v1 (the client then uses SaslAuthenticate).
      if (ctx.version < 1) refuse(ErrorCode.ILLEGAL_SASL_STATE, "re-authentication needs v1");
      s.previous = info.principal ?? null;
      s.previousMechanism = s.mechanism;
    } else if (s.state !== "handshake") {
      refuse(ErrorCode.ILLEGAL_SASL_STATE, `unexpected in state ${s.state}`);
    }
    if (!enabled.includes(req.mechanism)) {
      refuse(
        ErrorCode.UNSUPPORTED_SASL_MECHANISM,
        `client SASL mechanism "${req.mechanism}" not enabled; enabled mechanisms are ` +
          `[${enabled.join(", ")}]`,
      );
    }
    if (s.previous !== null && req.mechanism !== s.previousMechanism) {
      refuse(
        ErrorCode.ILLEGAL_SASL_STATE,
        `re-authentication of ${principalToString(s.previous)} with ${req.mechanism} instead ` +
          `of ${s.previousMechanism} is not allowed`,
      );
    }
    s.mechanism = req.mechanism;
    s.exchange = this.#exchange(req.mechanism, info.listenerName ?? "");
    s.state = ctx.version === 0 ? "raw" : "authenticate";
    s.workMs = 0;
    return createSaslHandshakeResponse({ mechanisms: enabled });
  }

  /**
   * Serve SaslAuthenticate.
   *
   * @param ctx The request.
   * @param req The token.
   * @returns The response.
   * @throws {CloseConnection} With the SASL_AUTHENTICATION_FAILED response (after the delay).
   */
  async authenticate(
    ctx: RequestContext,
    req: SaslAuthenticateRequest,
  ): Promise<SaslAuthenticateResponse> {
    const info = ctx.connection;
    const s = isSaslProtocol(info.securityProtocol) ? this.#session(info) : null;
    if (s === null || s.state !== "authenticate") {
      return createSaslAuthenticateResponse({
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: "SaslAuthenticate request received after successful authentication",
      });
    }
    try {
      const { response, done } = await this.#step(info, s, req.authBytes);
      return createSaslAuthenticateResponse({
        authBytes: response,
        sessionLifetimeMs: done ? this.#lifetime(s) : 0,
      });
    } catch (e) {
      const message = await this.#failed(info, s, e);
      const response = createSaslAuthenticateResponse({
        errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED,
        errorMessage: message,
      });
      throw new CloseConnection(
        `failed authentication (${message})`,
        "info",
        encodeResponseFrame(SaslAuthenticateResponse, ctx.version, ctx.correlationId, response),
      );
    }
  }

  /** A bare token after a v0 handshake: answered as a bare frame. */
  async #rawToken(frame: Uint8Array, info: ConnectionInfo, s: Session): Promise<Uint8Array[]> {
    try {
      const { response } = await this.#step(info, s, frame);
      const size = new Uint8Array(4);
      new DataView(size.buffer).setInt32(0, response.length);
      return [size, response];
    } catch (e) {
      const message = await this.#failed(info, s, e);
      // The v0 framing has no room for an error: Kafka closes the connection.
      throw new CloseConnection(`failed authentication (${message})`, "info");
    }
  }

  #lifetime(s: Session): number {
    return s.expiresAt === 0 ? 0 : Math.max(1, s.expiresAt - Date.now());
  }

  async #step(
    info: ConnectionInfo,
    s: Session,
    token: Uint8Array,
  ): Promise<{ response: Uint8Array; done: boolean }> {
    const started = performance.now();
    const out = await s.exchange!.step(token);
    s.workMs += performance.now() - started;
    if (!out.done) return out;
    const principal: KafkaPrincipal = { type: "User", name: out.username };
    if (
      s.previous !== null &&
      (s.previous.type !== principal.type || s.previous.name !== principal.name)
    ) {
      throw new AuthenticationFailed(
        `Cannot change principals during re-authentication from ` +
          `${principalToString(s.previous)}: ${principalToString(principal)}`,
      );
    }
    info.principal = principal;
    s.state = "authenticated";
    s.exchange = null;
    s.expiresAt = this.#options.maxReauthMs > 0 ? Date.now() + this.#options.maxReauthMs : 0;
    this.#options.logger.debug(
      `Connection ${info.id} from ${info.remote} ${s.previous === null ? "" : "re-"}authenticated` +
        ` as ${principalToString(principal)} with ${s.mechanism} ` +
        `(${s.workMs.toFixed(2)} ms of broker time)`,
    );
    s.previous = null;
    return out;
  }

  /** Log a failure and wait `connection.failed.authentication.delay.ms`; returns the reason. */
  async #failed(info: ConnectionInfo, s: Session, e: unknown): Promise<string> {
    if (!(e instanceof AuthenticationFailed || e instanceof ScramError)) throw e;
    const message = e.message.startsWith("Authentication failed")
      ? e.message
      : `Authentication failed during authentication due to invalid credentials with SASL ` +
        `mechanism ${s.mechanism}: ${e.message}`;
    s.exchange = null;
    this.#options.logger.info(
      `Failed authentication with ${info.remote} (connection ${info.id}, ${s.mechanism}): ${message}`,
    );
    const delay = this.#options.failedAuthenticationDelayMs;
    if (delay > 0) {
      const signals = [this.#options.closing];
      if (info.closed !== undefined) signals.push(info.closed);
      await sleep(delay, AbortSignal.any(signals));
    }
    return message;
  }

  #exchange(mechanism: string, listenerName: string): Exchange {
    if (mechanism === "PLAIN") return new PlainExchange(this.#options.plainUsers(listenerName));
    const mech = SCRAM_MECHANISMS.get(mechanism as ScramMechanism);
    if (mech === undefined) throw new Error(`SASL mechanism ${mechanism} is not implemented`);
    const store = this.#options.credentials;
    return new ScramExchange(new ScramServer(mech, (user) => store.get(user, mech.name)));
  }
}

/** SASL/PLAIN (RFC 4616), as Kafka's `PlainSaslServer`: one token, `authzid NUL user NUL pass`. */
class PlainExchange implements Exchange {
  readonly #users: ReadonlyMap<string, string>;
  #used = false;

  constructor(users: ReadonlyMap<string, string>) {
    this.#users = users;
  }

  step(token: Uint8Array): Promise<{ response: Uint8Array; done: boolean; username: string }> {
    if (this.#used) throw new AuthenticationFailed("unexpected second SASL/PLAIN token");
    this.#used = true;
    let text: string;
    try {
      text = decoder.decode(token);
    } catch {
      throw new AuthenticationFailed("Invalid SASL/PLAIN response: not valid UTF-8");
    }
    const parts = text.split("\u0000");
    if (parts.length !== 3) {
      throw new AuthenticationFailed(
        `Invalid SASL/PLAIN response: expected 3 tokens, got ${parts.length}`,
      );
    }
    const [authzid, username, password] = parts;
    if (username === "") {
      throw new AuthenticationFailed("Authentication failed: username not specified");
    }
    if (password === "") {
      throw new AuthenticationFailed("Authentication failed: password not specified");
    }
    if (authzid !== "" && authzid !== username) {
      throw new AuthenticationFailed(
        "Authentication failed: Client requested an authorization id that is different from username",
      );
    }
    const expected = this.#users.get(username);
    const enc = new TextEncoder();
    const given = enc.encode(password);
    // An unknown user costs the same comparison as a known one.
    const ok = constantTimeEqual(given, enc.encode(expected ?? "\u0000".repeat(given.length + 1)));
    if (expected === undefined || !ok) {
      throw new AuthenticationFailed("Authentication failed: Invalid username or password");
    }
    return Promise.resolve({ response: EMPTY, done: true, username });
  }
}

/** SCRAM-SHA-256/512: client-first -> server-first, client-final -> server-final. */
class ScramExchange implements Exchange {
  readonly #server: ScramServer;
  #step = 0;

  constructor(server: ScramServer) {
    this.#server = server;
  }

  async step(
    token: Uint8Array,
  ): Promise<{ response: Uint8Array; done: boolean; username: string }> {
    const step = this.#step++;
    if (step === 0) return { response: this.#server.first(token), done: false, username: "" };
    if (step === 1) {
      const response = await this.#server.final(token);
      return { response, done: true, username: this.#server.username };
    }
    throw new AuthenticationFailed("unexpected SCRAM message after the exchange completed");
  }
}
