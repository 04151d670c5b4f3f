// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `sluice configs`: client quotas in kafka-configs.sh's syntax, `--entity-type users|clients`
 * (one of each at most, in order with `--entity-name X` or `--entity-default`) or `--entity-type
 * ips` (KIP-612's `connection_creation_rate` of a client address, alone), then `--alter`
 * with `--add-config k=v,...` and/or `--delete-config k,...`, or `--describe`; and client metrics
 * subscriptions (KIP-714), `--entity-type client-metrics [--entity-name NAME]`, whose list values
 * go in brackets as kafka-configs.sh takes them (`metrics=[a.,b.],interval.ms=1000`). Topic
 * configs stay with `sluice topics --alter`.
 *
 * @module
 */

import { Admin, Client, type QuotaFilterComponent } from "../client/mod.ts";
import { errorName, KafkaError } from "../protocol/errors.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { CommandIo } from "./io.ts";
import { COMMAND_CONFIG_HELP, COMMAND_CONFIG_OPTION, commandConfig } from "./command_config.ts";

/** Help text of `sluice configs`. */
export const CONFIGS_HELP: string =
  `Usage: sluice configs [--bootstrap-server HOST:PORT] [--command-config FILE]
       --entity-type users|clients (--entity-name NAME | --entity-default)
       [--entity-type users|clients (--entity-name NAME | --entity-default)]
       (--alter [--add-config K=V,...] [--delete-config K,...] | --describe)
       sluice configs [--bootstrap-server HOST:PORT] [--command-config FILE]
       --entity-type ips [--entity-name ADDRESS | --entity-default]
       (--alter [--add-config connection_creation_rate=N] [--delete-config K] | --describe)
       sluice configs [--bootstrap-server HOST:PORT] [--command-config FILE]
       --entity-type client-metrics [--entity-name NAME]
       (--alter [--add-config K=V,...] [--delete-config K,...] | --describe)

Client quotas (kafka-configs.sh's flags). An --entity-type is followed by its --entity-name or
--entity-default; with --describe a type without either lists every entity of that type.

Client metrics subscriptions (KIP-714): which metrics clients push to the broker and how often.
A list value goes in brackets: --add-config 'metrics=[org.apache.kafka.producer.],interval.ms=1000,
match=[client_id=app.*]'. --describe without --entity-name describes every subscription.
Deleting every config of a subscription deletes it.

Quota keys:
  producer_byte_rate       bytes per second a producer may send (whole number)
  consumer_byte_rate       bytes per second a consumer may fetch (whole number)
  request_percentage       share of the broker's request handling time, in percent
  connection_creation_rate new connections per second from an address (ips only; whole number)

Client metrics keys:
  metrics                  metric name prefixes to push (* for every metric)
  interval.ms              how often to push, 100 to 3600000 (default 300000)
  match                    client_id, client_instance_id, client_software_name,
                           client_software_version, client_source_address or
                           client_source_port = a regular expression of the whole value

Options:
  --bootstrap-server LIST  Brokers to connect to (default localhost:9092)
${COMMAND_CONFIG_HELP}  -h, --help               Show this help
`;

const CLIENT_METRICS = "client-metrics";
const TYPES: Record<string, string> = {
  users: "user",
  clients: "client-id",
  ips: "ip",
  [CLIENT_METRICS]: CLIENT_METRICS,
};
const LABEL: Record<string, string> = {
  user: "user-principal",
  "client-id": "client-id",
  ip: "ip",
};

/** One `--entity-type` with its name: a string, `null` for `--entity-default`, or any. */
interface EntityArg {
  type: string;
  name: string | null | undefined;
}

/** The entity flags in order: each type paired with the name or default after it. */
function entityArgs(args: string[]): EntityArg[] {
  const out: EntityArg[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [flag, inline] = a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    const value = () => inline ?? args[++i];
    if (flag === "--entity-type") {
      const v = value();
      const type = TYPES[v ?? ""];
      if (type === undefined) {
        throw new UsageError(
          `invalid --entity-type "${v}": expected users, clients, ips or client-metrics`,
        );
      }
      if (out.some((e) => e.type === type)) throw new UsageError(`--entity-type ${v} given twice`);
      out.push({ type, name: undefined });
    } else if (flag === "--entity-name" || flag === "--entity-default") {
      const last = out[out.length - 1];
      if (last === undefined || last.name !== undefined) {
        throw new UsageError(`${flag} must follow an --entity-type`);
      }
      last.name = flag === "--entity-default" ? null : value();
    }
  }
  return out;
}

function describeEntity(entity: Record<string, string | null>): string {
  return Object.entries(entity).map(([t, n]) =>
    n === null ? `the default ${LABEL[t] ?? t}` : `${LABEL[t] ?? t} '${n}'`
  ).join(", ");
}

/**
 * `--add-config` of kafka-configs.sh: `k=v` pairs split at commas outside brackets, a bracketed
 * value being a list (`metrics=[a,b]` -> `a,b`).
 *
 * @param text The flag's value.
 * @returns Key -> value.
 * @throws {UsageError} On a pair without `=` or unbalanced brackets.
 */
export function parseAddConfig(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let depth = 0;
  let start = 0;
  const pairs: string[] = [];
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === "[") depth++;
    else if (c === "]") {
      if (--depth < 0) throw new UsageError(`invalid --add-config "${text}": unbalanced ]`);
    } else if ((c === "," && depth === 0) || i === text.length) {
      pairs.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw new UsageError(`invalid --add-config "${text}": unbalanced [`);
  for (const kv of pairs.map((p) => p.trim()).filter((p) => p !== "")) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new UsageError(`invalid --add-config "${kv}": expected KEY=VALUE`);
    let v = kv.slice(eq + 1).trim();
    if (v.startsWith("[") && v.endsWith("]")) v = v.slice(1, -1);
    out[kv.slice(0, eq).trim()] = v;
  }
  return out;
}

async function runClientMetrics(
  values: Record<string, unknown>,
  name: string | undefined,
  io: CommandIo,
): Promise<number> {
  const set = parseAddConfig((values["add-config"] as string | undefined) ?? "");
  const remove = ((values["delete-config"] as string | undefined) ?? "").split(",")
    .map((k) => k.trim()).filter((k) => k !== "");
  if (values.alter) {
    if (name === undefined) throw new UsageError("--alter needs --entity-name");
    if (Object.keys(set).length + remove.length === 0) {
      throw new UsageError("--alter needs --add-config or --delete-config");
    }
  }
  const client = new Client({
    ...(await commandConfig(values["command-config"] as string | undefined)),
    bootstrapServers: values["bootstrap-server"] as string,
    clientId: "sluice-configs",
  });
  try {
    const admin = new Admin(client);
    if (values.describe) {
      const names = name !== undefined ? [name] : await admin.listClientMetricsResources();
      for (const n of names) {
        const [d] = await admin.describeConfigs([{ type: "client-metrics", name: n }]);
        io.stdout(`Dynamic configs for client-metric ${n} are:\n`);
        for (const e of d.entries.filter((e) => e.source === "CLIENT_METRICS_CONFIG")) {
          io.stdout(
            `  ${e.name}=${e.value} sensitive=false synonyms={CLIENT_METRICS_CONFIG:` +
              `${e.name}=${e.value}}\n`,
          );
        }
      }
      return 0;
    }
    try {
      await admin.alterConfigs([{
        type: "client-metrics",
        name: name!,
        changes: [
          ...Object.entries(set).map(([k, v]) => ({ name: k, value: v })),
          ...remove.map((k) => ({ name: k, op: "delete" as const })),
        ],
      }]);
    } catch (e) {
      if (!(e instanceof KafkaError)) throw e;
      io.stderr(`client-metric '${name}': ${e.errorName}: ${e.reason}\n`);
      return 1;
    }
    io.stdout(`Completed updating config for client-metric ${name}.\n`);
    return 0;
  } finally {
    client.close();
  }
}

/** A value as Kafka's ConfigCommand prints it (a Java double). */
function javaDouble(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

/**
 * Runs `sluice configs`.
 *
 * @param args Arguments after `configs`.
 * @param io Where to write.
 * @returns The exit code: 0, or 1 when the broker refused the change.
 * @throws {UsageError} On bad flags.
 * @throws {KafkaError} When the broker cannot be reached or refuses the request.
 */
export async function runConfigs(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    "entity-type": { type: "string", multiple: true },
    "entity-name": { type: "string", multiple: true },
    "entity-default": { type: "boolean", multiple: true },
    alter: { type: "boolean" },
    describe: { type: "boolean" },
    "add-config": { type: "string" },
    "delete-config": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(CONFIGS_HELP);
    return 0;
  }
  if (values.alter === values.describe) {
    throw new UsageError("exactly one of --alter or --describe is required");
  }
  const entities = entityArgs(args);
  if (entities.length === 0) {
    throw new UsageError("--entity-type users, clients or ips is required");
  }
  if (entities.some((e) => e.type === CLIENT_METRICS)) {
    if (entities.length > 1) {
      throw new UsageError("--entity-type client-metrics cannot be combined with another type");
    }
    if (entities[0].name === null) {
      throw new UsageError("--entity-default does not apply to client-metrics");
    }
    return await runClientMetrics(values, entities[0].name, io);
  }
  const ops: Record<string, number | null> = {};
  if (values.alter) {
    if (entities.some((e) => e.name === undefined)) {
      throw new UsageError(
        "--alter needs --entity-name or --entity-default for each --entity-type",
      );
    }
    const add = (values["add-config"] as string | undefined) ?? "";
    for (const kv of add.split(",").filter((x) => x !== "")) {
      const eq = kv.indexOf("=");
      const value = Number(kv.slice(eq + 1));
      if (eq <= 0 || kv.slice(eq + 1).trim() === "" || !Number.isFinite(value)) {
        throw new UsageError(`invalid --add-config "${kv}": expected KEY=NUMBER`);
      }
      ops[kv.slice(0, eq)] = value;
    }
    const del = (values["delete-config"] as string | undefined) ?? "";
    for (const k of del.split(",").filter((x) => x !== "")) ops[k] = null;
    if (Object.keys(ops).length === 0) {
      throw new UsageError("--alter needs --add-config or --delete-config");
    }
  }
  const client = new Client({
    ...(await commandConfig(values["command-config"])),
    bootstrapServers: values["bootstrap-server"] as string,
    clientId: "sluice-configs",
  });
  try {
    const admin = new Admin(client);
    if (values.describe) {
      const filter: QuotaFilterComponent[] = entities.map((e) =>
        e.name === undefined
          ? { entityType: e.type, match: "any" }
          : e.name === null
          ? { entityType: e.type, match: "default" }
          : { entityType: e.type, match: "exact", name: e.name }
      );
      for (const q of await admin.describeClientQuotas(filter, true)) {
        const values = Object.entries(q.values).map(([k, v]) => `${k}=${javaDouble(v)}`);
        io.stdout(`Quota configs for ${describeEntity(q.entity)} are ${values.join(", ")}\n`);
      }
      return 0;
    }
    const entity = Object.fromEntries(entities.map((e) => [e.type, e.name as string | null]));
    const [r] = await admin.alterClientQuotas([{ entity, ops }]);
    if (r.errorCode !== 0) {
      io.stderr(`${describeEntity(entity)}: ${errorName(r.errorCode)} (${r.errorMessage ?? ""})\n`);
      return 1;
    }
    io.stdout(`Completed updating config for ${describeEntity(entity)}.\n`);
    return 0;
  } finally {
    client.close();
  }
}
