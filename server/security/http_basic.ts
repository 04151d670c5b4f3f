// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * HTTP Basic authentication of the admin HTTP listener (`sluice.http.auth=basic`,
 * docs/SECURITY.md) against the broker's SASL users: the PLAIN users of its JAAS entries
 * (`user_<name>="<password>"`, compared in constant time) and the SCRAM credentials (the password
 * is salted with the stored salt and iterations, and its StoredKey compared with the stored one:
 * the broker still never keeps a password). A failed attempt is answered after
 * `connection.failed.authentication.delay.ms`, as a failed SASL login is.
 *
 * @module
 */

import {
  constantTimeEqual,
  credentialFromSaltedPassword,
  saltedPassword,
  SCRAM_MECHANISMS,
} from "../../protocol/scram.ts";
import type { ScramCredentialStore } from "./scram_credentials.ts";

/** What {@linkcode HttpBasicAuthenticator} checks passwords against. */
export interface HttpBasicAuthOptions {
  /** PLAIN users (every SASL listener's JAAS `user_<name>` options): name → passwords. */
  plainUsers: ReadonlyMap<string, readonly string[]>;
  /** The SCRAM credentials, once the broker has loaded them; `undefined` before. */
  credentials: () => ScramCredentialStore | undefined;
  /** How long a failure's answer waits (`connection.failed.authentication.delay.ms`). */
  failedAuthenticationDelayMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Checks `Authorization: Basic` headers.
 *
 * @example
 * ```ts
 * import { HttpBasicAuthenticator } from "./http_basic.ts";
 * const auth = new HttpBasicAuthenticator({
 *   plainUsers: new Map([["ops", ["ops-secret"]]]),
 *   credentials: () => undefined,
 *   failedAuthenticationDelayMs: 0,
 * });
 * const ok = await auth.authenticate(`Basic ${btoa("ops:ops-secret")}`);
 * console.assert(ok === "ops");
 * ```
 */
export class HttpBasicAuthenticator {
  readonly #o: HttpBasicAuthOptions;

  /**
   * @param options Users, credentials and the failure delay.
   */
  constructor(options: HttpBasicAuthOptions) {
    this.#o = options;
  }

  /**
   * The user an `Authorization` header authenticates, or `null` (after the failure delay).
   *
   * @param header The `Authorization` header's value, or `null` when absent.
   * @returns The user name, or `null` if the header is absent, malformed or the password wrong.
   */
  async authenticate(header: string | null): Promise<string | null> {
    const user = await this.#check(header);
    if (user === null && header !== null && this.#o.failedAuthenticationDelayMs > 0) {
      await new Promise((r) => setTimeout(r, this.#o.failedAuthenticationDelayMs));
    }
    return user;
  }

  async #check(header: string | null): Promise<string | null> {
    const m = header === null ? null : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (m === null) return null;
    let text: string;
    try {
      text = decoder.decode(Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)));
    } catch {
      return null;
    }
    const colon = text.indexOf(":");
    if (colon <= 0) return null;
    const user = text.slice(0, colon);
    const password = text.slice(colon + 1);
    const given = encoder.encode(password);
    let plain = false;
    for (const p of this.#o.plainUsers.get(user) ?? []) {
      if (constantTimeEqual(encoder.encode(p), given)) plain = true;
    }
    if (plain) return user;
    const store = this.#o.credentials();
    if (store === undefined) return null;
    for (const [name, mech] of SCRAM_MECHANISMS) {
      const stored = store.get(user, name);
      if (stored === undefined) continue;
      const salted = await saltedPassword(mech, password, stored.salt, stored.iterations);
      const derived = await credentialFromSaltedPassword(
        mech,
        salted,
        stored.salt,
        stored.iterations,
      );
      if (constantTimeEqual(derived.storedKey, stored.storedKey)) return user;
    }
    return null;
  }
}
