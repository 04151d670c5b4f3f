// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `--command-config FILE`, as Kafka's tools take it: a client `.properties` file with the
 * security settings of the CLI's own connections. The SASL half lives here
 * (`security.protocol=SASL_PLAINTEXT`, `sasl.mechanism`, `sasl.username`/`sasl.password` or
 * `sasl.jaas.config`); other keys are ignored.
 *
 * @module
 */

import type { ClientOptions } from "../client/client.ts";
import { saslOptionsFromProperties } from "../client/sasl.ts";
import { parsePropertiesFile } from "../server/config.ts";
import { UsageError } from "./args.ts";

/** The `parseArgs` definition of `--command-config`, for every command that connects. */
export const COMMAND_CONFIG_OPTION = { "command-config": { type: "string" as const } };

/** Help line of `--command-config`. */
export const COMMAND_CONFIG_HELP =
  "  --command-config FILE    Client properties (security.protocol, sasl.mechanism, ...)\n";

/**
 * The client settings of a `--command-config` file (none without the flag).
 * Needs `--allow-read` for the file.
 *
 * @example
 * ```ts ignore
 * const security = await commandConfig(values["command-config"]);
 * const client = new Client({ bootstrapServers, ...security });
 * ```
 *
 * @param file The flag's value.
 * @returns Options to spread into {@linkcode ClientOptions}.
 * @throws {UsageError} If the file cannot be read or its settings are invalid.
 */
export async function commandConfig(file: unknown): Promise<Partial<ClientOptions>> {
  if (file === undefined) return {};
  let props: Record<string, string>;
  try {
    props = parsePropertiesFile(await Deno.readTextFile(String(file)));
  } catch (e) {
    throw new UsageError(
      `cannot read --command-config ${file}: ${e instanceof Error ? e.message : e}`,
    );
  }
  try {
    const sasl = saslOptionsFromProperties(props);
    return sasl === undefined ? {} : { sasl };
  } catch (e) {
    throw new UsageError(`invalid --command-config ${file}: ${(e as Error).message}`);
  }
}
