// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Kafka's `sasl.jaas.config` values (Java JAAS syntax, one login module):
 *
 * ```text
 * org.apache.kafka.common.security.plain.PlainLoginModule required
 *   username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";
 * ```
 *
 * For the broker's PLAIN mechanism the `user_<name>="<password>"` options are its users, as in
 * Kafka's `PlainServerCallbackHandler`.
 *
 * @module
 */

/** One parsed JAAS login module entry. */
export interface JaasConfig {
  /** The login module class, e.g. `org.apache.kafka.common.security.plain.PlainLoginModule`. */
  loginModule: string;
  /** `required`, `requisite`, `sufficient` or `optional`. */
  flag: string;
  /** The options, in order. */
  options: Record<string, string>;
}

/** Kafka's PLAIN login module class. */
export const PLAIN_LOGIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule";
/** Kafka's SCRAM login module class. */
export const SCRAM_LOGIN_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule";

const FLAGS = new Set(["required", "requisite", "sufficient", "optional"]);

/**
 * Parse a `sasl.jaas.config` value: `Module flag key=value ...;` with values bare or in double
 * quotes (`\"` and `\\` escapes).
 *
 * @example
 * ```ts
 * import { parseJaasConfig } from "./jaas.ts";
 * const c = parseJaasConfig(
 *   'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="a;b";',
 * );
 * console.assert(c.options["user_alice"] === "a;b");
 * ```
 *
 * @param text The value.
 * @returns The entry.
 * @throws {RangeError} If the text is not one `Module flag options;` entry.
 */
export function parseJaasConfig(text: string): JaasConfig {
  const fail = (what: string): never => {
    throw new RangeError(`invalid JAAS configuration: ${what}`);
  };
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const word = (): string => {
    skipSpace();
    const start = i;
    while (i < text.length && !/[\s=;"]/.test(text[i])) i++;
    return text.slice(start, i);
  };
  const loginModule = word();
  if (loginModule === "") fail("expected a login module class name");
  const flag = word().toLowerCase();
  if (!FLAGS.has(flag)) {
    fail(
      `expected a control flag (required, requisite, sufficient, optional) after ${loginModule}`,
    );
  }
  const options: Record<string, string> = {};
  for (;;) {
    skipSpace();
    if (i >= text.length) fail("missing ';' at the end");
    if (text[i] === ";") {
      i++;
      break;
    }
    const key = word();
    if (key === "") fail(`unexpected "${text[i]}" at offset ${i}`);
    skipSpace();
    if (text[i] !== "=") fail(`option ${key} has no "=value"`);
    i++;
    skipSpace();
    let value = "";
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < text.length) {
        const c = text[i++];
        if (c === "\\" && i < text.length) value += text[i++];
        else if (c === '"') {
          closed = true;
          break;
        } else value += c;
      }
      if (!closed) fail(`unterminated quoted value of option ${key}`);
    } else {
      value = word();
      if (value === "") fail(`option ${key} has an empty value`);
    }
    options[key] = value;
  }
  skipSpace();
  if (i < text.length) fail("more than one login module (only one is allowed)");
  return { loginModule, flag, options };
}

/**
 * The PLAIN users of a JAAS entry: every `user_<name>` option, name -> password.
 *
 * @param config The parsed entry.
 * @returns The users.
 * @throws {RangeError} If the entry is not Kafka's PlainLoginModule.
 */
export function plainUsers(config: JaasConfig): Map<string, string> {
  if (config.loginModule !== PLAIN_LOGIN_MODULE) {
    throw new RangeError(
      `invalid JAAS configuration for PLAIN: login module ${config.loginModule}, expected ` +
        PLAIN_LOGIN_MODULE,
    );
  }
  const users = new Map<string, string>();
  for (const [k, v] of Object.entries(config.options)) {
    if (k.startsWith("user_") && k.length > 5) users.set(k.slice(5), v);
  }
  return users;
}
