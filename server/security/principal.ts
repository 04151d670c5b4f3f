// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Who a connection acts as (Kafka's `KafkaPrincipal`): set by the listener's authentication (TLS
 * client certificate, SASL) and read by the authorizer. A connection that has not authenticated
 * (a PLAINTEXT listener, or an SSL listener without client authentication) is
 * {@linkcode ANONYMOUS}, as in Kafka.
 *
 * @module
 */

/** A principal: a type (`User`) and a name, written `User:alice`. */
export interface KafkaPrincipal {
  /** The principal type; Kafka's authenticators all produce `User`. */
  readonly type: string;
  /** The name, e.g. the SASL user name or the mapped certificate subject. */
  readonly name: string;
}

/** The principal of a connection that did not authenticate: `User:ANONYMOUS`. */
export const ANONYMOUS: KafkaPrincipal = Object.freeze({ type: "User", name: "ANONYMOUS" });

/**
 * The principal as Kafka writes it, `type:name`.
 *
 * @example
 * ```ts
 * import { ANONYMOUS, principalToString } from "./principal.ts";
 * console.assert(principalToString(ANONYMOUS) === "User:ANONYMOUS");
 * ```
 *
 * @param principal The principal.
 * @returns `type:name`.
 */
export function principalToString(principal: KafkaPrincipal): string {
  return `${principal.type}:${principal.name}`;
}

/**
 * Parse `type:name` (as in `super.users` and ACL bindings); the name may itself contain `:`.
 *
 * @example
 * ```ts
 * import { parsePrincipal } from "./principal.ts";
 * console.assert(parsePrincipal("User:CN=a,O=b").name === "CN=a,O=b");
 * ```
 *
 * @param text `type:name`.
 * @returns The principal.
 * @throws {RangeError} If `text` has no `:` or an empty type.
 */
export function parsePrincipal(text: string): KafkaPrincipal {
  const colon = text.indexOf(":");
  if (colon <= 0) {
    throw new RangeError(`invalid principal "${text}": expected "type:name", e.g. "User:alice"`);
  }
  return { type: text.slice(0, colon), name: text.slice(colon + 1) };
}
