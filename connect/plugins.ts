// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The connector plugins a worker knows: the ones in the box, under their class names and short
 * aliases (Kafka's `org.apache.kafka.connect.file.FileStreamSourceConnector`,
 * `FileStreamSourceConnector`, `FileStreamSource`), plus any registered with
 * {@linkcode registerPlugin}.
 *
 * @module
 */

import { type ConnectorClass, SinkConnector } from "./api.ts";
import { FileStreamSinkConnector, FileStreamSourceConnector } from "./connectors/file.ts";
import { StdinSourceConnector, StdoutSinkConnector } from "./connectors/stdio.ts";
import { HttpSinkConnector } from "./connectors/http_sink.ts";
import { PostgresSinkConnector } from "./connectors/postgres_sink.ts";
import { PostgresSourceConnector } from "./connectors/postgres_source.ts";

/** A connector plugin. */
export interface Plugin {
  /** Its class name, as `/connector-plugins` lists it. */
  className: string;
  /** Other names accepted in `connector.class`. */
  aliases: string[];
  /** `source` or `sink`. */
  type: "source" | "sink";
  /** The connector class. */
  cls: ConnectorClass;
  /** Its version. */
  version: string;
}

const plugins: Plugin[] = [];

function aliasesOf(className: string): string[] {
  const short = className.split(".").pop()!;
  const out = [short];
  if (short.endsWith("Connector")) out.push(short.slice(0, -"Connector".length));
  return out;
}

/**
 * Registers a connector class so that `connector.class` can name it.
 *
 * @example
 * ```ts ignore
 * import { registerPlugin } from "./plugins.ts";
 * registerPlugin("com.example.MySourceConnector", MySourceConnector);
 * ```
 *
 * @param className The class name to list (its last dotted part, with and without `Connector`,
 * is accepted too).
 * @param cls The connector class.
 * @param aliases More accepted names.
 * @throws {RangeError} When the name is taken.
 */
export function registerPlugin(
  className: string,
  cls: ConnectorClass,
  aliases: string[] = [],
): void {
  const all = [className, ...aliasesOf(className), ...aliases];
  for (const name of all) {
    const taken = findPlugin(name);
    if (taken && name === className) {
      throw new RangeError(`connector plugin ${className}: already registered`);
    }
  }
  const instance = new cls();
  plugins.push({
    className,
    aliases: [...aliasesOf(className), ...aliases],
    type: instance instanceof SinkConnector ? "sink" : "source",
    cls,
    version: instance.version(),
  });
}

/**
 * The plugin a `connector.class` names (class name or alias).
 *
 * @param name The name.
 * @returns The plugin, or `undefined`.
 */
export function findPlugin(name: string): Plugin | undefined {
  const n = name.trim();
  return plugins.find((p) => p.className === n) ?? plugins.find((p) => p.aliases.includes(n));
}

/**
 * Every registered plugin.
 *
 * @returns The plugins, in registration order.
 */
export function listPlugins(): Plugin[] {
  return [...plugins];
}

registerPlugin(
  "org.apache.kafka.connect.file.FileStreamSourceConnector",
  FileStreamSourceConnector,
);
registerPlugin("org.apache.kafka.connect.file.FileStreamSinkConnector", FileStreamSinkConnector);
registerPlugin("sluice.connect.StdinSourceConnector", StdinSourceConnector, ["stdin"]);
registerPlugin("sluice.connect.StdoutSinkConnector", StdoutSinkConnector, ["stdout"]);
registerPlugin("sluice.connect.HttpSinkConnector", HttpSinkConnector, ["http"]);
registerPlugin("sluice.connect.PostgresSinkConnector", PostgresSinkConnector, [
  "io.confluent.connect.jdbc.JdbcSinkConnector",
  "JdbcSinkConnector",
  "postgres-sink",
]);
registerPlugin("sluice.connect.PostgresSourceConnector", PostgresSourceConnector, [
  "io.confluent.connect.jdbc.JdbcSourceConnector",
  "JdbcSourceConnector",
  "postgres-source",
]);
