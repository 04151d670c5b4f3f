// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `--command-config FILE`, as Kafka's tools take it: a client `.properties` file with the
 * security settings of the CLI's own connections. `security.protocol` is PLAINTEXT, SSL,
 * SASL_PLAINTEXT or SASL_SSL; the TLS half (`ssl.*`, SSL and SASL_SSL) is read by
 * `client/tls.ts`, the SASL half (`sasl.mechanism`, `sasl.username`/`sasl.password` or
 * `sasl.jaas.config`, SASL_PLAINTEXT and SASL_SSL) by `client/sasl.ts`; other keys are ignored.
 *
 * @module
 */

import type { ClientOptions } from "../client/client.ts";
import { saslOptionsFromProperties } from "../client/sasl.ts";
import { clientTlsFromProperties } from "../client/tls.ts";
import { parsePropertiesFile } from "../server/config.ts";
import { UsageError } from "./args.ts";

/** The `parseArgs` definition of `--command-config`, for every command that connects. */
export const COMMAND_CONFIG_OPTION = { "command-config": { type: "string" as const } };

/** Help line of `--command-config`. */
export const COMMAND_CONFIG_HELP =
  "  --command-config FILE    Client properties: security.protocol, ssl.*, sasl.*\n";

/**
 * The client security settings of a `--command-config` file (none without the flag): TLS for
 * SSL and SASL_SSL, SASL for SASL_PLAINTEXT and SASL_SSL. Needs `--allow-read` for the file and
 * the certificate files it names.
 *
 * @example
 * ```ts
 * import { commandConfig } from "./command_config.ts";
 * console.assert(Object.keys(await commandConfig(undefined)).length === 0);
 * ```
 *
 * @param file The flag's value.
 * @param flag The flag's name, for messages (`--producer.config`, ...).
 * @returns Options to spread into {@linkcode ClientOptions}.
 * @throws {UsageError} If the file cannot be read or its settings are invalid.
 */
export async function commandConfig(
  file: unknown,
  flag = "--command-config",
): Promise<Pick<ClientOptions, "tls" | "sasl">> {
  if (file === undefined) return {};
  let props: Record<string, string>;
  try {
    props = parsePropertiesFile(await Deno.readTextFile(String(file)));
  } catch (e) {
    throw new UsageError(`cannot read ${flag} ${file}: ${e instanceof Error ? e.message : e}`);
  }
  try {
    const tls = clientTlsFromProperties(props);
    const sasl = saslOptionsFromProperties(props);
    return {
      ...(tls === undefined ? {} : { tls }),
      ...(sasl === undefined ? {} : { sasl }),
    };
  } catch (e) {
    throw new UsageError(`invalid ${flag} ${file}: ${(e as Error).message}`);
  }
}
