/**
 * `sluice groups`: list, describe, reset offsets of and delete consumer groups, printing like
 * Kafka's `kafka-consumer-groups.sh`.
 *
 * @module
 */

import {
  Admin,
  Client,
  type CommittedOffset,
  type ConsumerGroupDescription,
  type GroupType,
  KafkaError,
} from "../client/mod.ts";
import { parseFlags, parseIntFlag, UsageError } from "./args.ts";
import type { CommandIo } from "./io.ts";
import { COMMAND_CONFIG_HELP, COMMAND_CONFIG_OPTION, commandConfig } from "./command_config.ts";

/** Help text of `sluice groups`. */
export const GROUPS_HELP: string =
  `Usage: sluice groups [--bootstrap-server HOST:PORT] ACTION [OPTIONS]

Actions (exactly one):
  --list [--type [TYPE,...]] [--state]
                                     Group ids (with --type: and their types, classic or
                                     consumer, only those given if any; with --state: and
                                     their states)
  --describe --group G [--members | --state] [--verbose]
                                     Offsets and lag per partition (default; with --verbose:
                                     and each committed offset's LEADER-EPOCH), members (with
                                     --verbose: and their ASSIGNMENT), or state; consumer-
                                     protocol (KIP-848) groups too
  --reset-offsets --group G (--topic T[:P,P...]... | --all-topics) SPEC [--execute | --dry-run]
                                     Plan (default) or apply new committed offsets; the group
                                     must have no active members
  --delete --group G                 Delete a group with no active members

Reset specs (exactly one):
  --to-earliest | --to-latest | --to-current | --to-offset N | --shift-by N
  --to-datetime YYYY-MM-DDTHH:mm:SS.sss[Z|+hh:mm]   (local time without a zone)

Options:
  --bootstrap-server LIST  Brokers to connect to (default localhost:9092)
  --output FORMAT          With --describe: text (default) or json (one object: state,
                           members, and each partition's offsets, leader epoch and lag)
${COMMAND_CONFIG_HELP}  -h, --help               Show this help
`;

/** One row of `--describe`. */
export interface OffsetRow {
  /** Group id. */
  group: string;
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Committed offset, or `null` if none. */
  currentOffset: number | null;
  /** Leader epoch committed with the offset (`committed_leader_epoch`), or `null` if none. */
  leaderEpoch: number | null;
  /** Log end offset. */
  logEndOffset: number | null;
  /** Member id, or `null` when no member owns the partition. */
  consumerId: string | null;
  /** The member's host. */
  host: string | null;
  /** The member's client id. */
  clientId: string | null;
}

const dash = (v: string | number | null): string => v === null ? "-" : String(v);
const pad = (s: string, n: number): string => s.padEnd(n);

/**
 * Formats rows as a table whose columns are as wide as their widest cell (at least `min`),
 * separated by one space, the last column unpadded.
 *
 * @example
 * ```ts
 * import { formatTable } from "./groups.ts";
 * formatTable([["A", "B"], ["xx", "y"]], [1, 1]); // "A  B\nxx y\n"
 * ```
 *
 * @param rows Header and body rows.
 * @param min Minimum width per column.
 * @returns The lines, each ending in `\n`.
 */
export function formatTable(rows: string[][], min: number[]): string {
  const widths = min.map((m, i) => Math.max(m, ...rows.map((r) => r[i]?.length ?? 0)));
  return rows.map((r) =>
    r.map((cell, i) => i === r.length - 1 ? cell : pad(cell, widths[i])).join(" ") + "\n"
  ).join("");
}

/**
 * Formats `--describe` rows like `kafka-consumer-groups.sh --describe`: `GROUP TOPIC PARTITION
 * CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID`, `-` for unknown values. With
 * `verbose`, a `LEADER-EPOCH` column (the committed leader epoch) follows `CURRENT-OFFSET`, where
 * Kafka's `kafka-streams-groups.sh --describe --verbose` puts it.
 *
 * @example
 * ```ts
 * import { formatOffsets } from "./groups.ts";
 * formatOffsets([{ group: "g", topic: "t", partition: 0, currentOffset: 2, leaderEpoch: 0,
 *   logEndOffset: 5, consumerId: null, host: null, clientId: null }], { verbose: true });
 * ```
 *
 * @param rows The rows.
 * @param options `verbose`: add the `LEADER-EPOCH` column.
 * @returns The table.
 */
export function formatOffsets(rows: OffsetRow[], options: { verbose?: boolean } = {}): string {
  const epoch = options.verbose === true;
  const body = rows.map((r) => [
    r.group,
    r.topic,
    String(r.partition),
    dash(r.currentOffset),
    ...(epoch ? [dash(r.leaderEpoch)] : []),
    dash(r.logEndOffset),
    r.currentOffset === null || r.logEndOffset === null
      ? "-"
      : String(Math.max(0, r.logEndOffset - r.currentOffset)),
    dash(r.consumerId),
    dash(r.host),
    dash(r.clientId),
  ]);
  return formatTable(
    [[
      "GROUP",
      "TOPIC",
      "PARTITION",
      "CURRENT-OFFSET",
      ...(epoch ? ["LEADER-EPOCH"] : []),
      "LOG-END-OFFSET",
      "LAG",
      "CONSUMER-ID",
      "HOST",
      "CLIENT-ID",
    ], ...body],
    [15, 15, 10, 15, ...(epoch ? [15] : []), 15, 15, 15, 15, 0],
  );
}

/** A parsed `--topic T[:P,P...]`. */
export interface TopicSpec {
  /** Topic. */
  topic: string;
  /** Partitions, or `null` for all. */
  partitions: number[] | null;
}

/**
 * Parses `--topic` values of `--reset-offsets` (`t`, `t:0`, `t:0,2`).
 *
 * @example
 * ```ts
 * import { parseTopicSpec } from "./groups.ts";
 * parseTopicSpec("orders:0,2"); // { topic: "orders", partitions: [0, 2] }
 * ```
 *
 * @param value The flag value.
 * @returns The topic and partitions.
 * @throws {UsageError} On an empty topic or a bad partition list.
 */
export function parseTopicSpec(value: string): TopicSpec {
  const colon = value.lastIndexOf(":");
  if (colon === -1) {
    if (value === "") throw new UsageError(`invalid --topic "": expected T or T:P[,P...]`);
    return { topic: value, partitions: null };
  }
  const topic = value.slice(0, colon);
  const list = value.slice(colon + 1).split(",");
  if (topic === "" || list.some((p) => !/^\d+$/.test(p))) {
    throw new UsageError(`invalid --topic "${value}": expected T or T:P[,P...]`);
  }
  return { topic, partitions: list.map(Number) };
}

/**
 * Parses a `--to-datetime` value like Kafka: `YYYY-MM-DDTHH:mm:SS.sss` in local time, or with
 * `Z` / `+hh:mm` / `-hh:mm`.
 *
 * @example
 * ```ts
 * import { parseDateTime } from "./groups.ts";
 * parseDateTime("2026-01-02T03:04:05.006Z"); // 1767323045006
 * ```
 *
 * @param value The flag value.
 * @returns Milliseconds since the epoch.
 * @throws {UsageError} On another format or an impossible date.
 */
export function parseDateTime(value: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?(Z|[+-]\d{2}:?\d{2})?$/
    .exec(value);
  const ms = m ? Date.parse(value) : NaN;
  if (!m || Number.isNaN(ms)) {
    throw new UsageError(
      `invalid --to-datetime "${value}": expected YYYY-MM-DDTHH:mm:SS.sss (optionally Z or +hh:mm)`,
    );
  }
  // Some engines roll impossible dates over (02-30 to 03-02): require the fields back.
  const d = new Date(m[8] ? Date.parse(value.slice(0, value.length - m[8].length) + "Z") : ms);
  const fields = m[8]
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours()];
  if (fields.some((f, i) => f !== Number(m[i + 1]))) {
    throw new UsageError(`invalid --to-datetime "${value}": no such date`);
  }
  return ms;
}

const RESET_SPECS = [
  "to-earliest",
  "to-latest",
  "to-current",
  "to-offset",
  "shift-by",
  "to-datetime",
] as const;

/**
 * Runs `sluice groups`.
 *
 * @param args Arguments after `groups`.
 * @param io Where to write output.
 * @returns The exit code.
 * @throws {UsageError} On bad flags.
 * @throws {KafkaError} When the broker refuses the operation.
 */
export async function runGroups(args: string[], io: CommandIo): Promise<number> {
  // Kafka's --type takes an optional value: alone, it lists every type
  const argv = args.map((a, i) =>
    a === "--type" && (i + 1 === args.length || args[i + 1].startsWith("-")) ? "--type=" : a
  );
  const { values } = parseFlags(argv, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    list: { type: "boolean" },
    describe: { type: "boolean" },
    "reset-offsets": { type: "boolean" },
    delete: { type: "boolean" },
    group: { type: "string" },
    members: { type: "boolean" },
    state: { type: "boolean" },
    type: { type: "string" },
    offsets: { type: "boolean" },
    verbose: { type: "boolean" },
    topic: { type: "string", multiple: true },
    "all-topics": { type: "boolean" },
    "to-earliest": { type: "boolean" },
    "to-latest": { type: "boolean" },
    "to-current": { type: "boolean" },
    "to-offset": { type: "string" },
    "shift-by": { type: "string" },
    "to-datetime": { type: "string" },
    execute: { type: "boolean" },
    "dry-run": { type: "boolean" },
    output: { type: "string", default: "text" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(GROUPS_HELP);
    return 0;
  }
  const actions = ["list", "describe", "reset-offsets", "delete"].filter((a) => values[a]);
  if (actions.length !== 1) {
    throw new UsageError(
      "exactly one of --list, --describe, --reset-offsets or --delete is required",
    );
  }
  const action = actions[0];
  const group = values.group as string | undefined;
  if (action !== "list" && !group) throw new UsageError(`--${action} needs --group`);
  if (action === "list" && group) throw new UsageError("--list does not take --group");
  if (values.members && values.state) {
    throw new UsageError("--members and --state cannot be used together");
  }
  if ((values.members || values.offsets) && action !== "describe") {
    throw new UsageError(`--${values.members ? "members" : "offsets"} needs --describe`);
  }
  if (values.verbose && (action !== "describe" || values.state)) {
    throw new UsageError("--verbose needs --describe (of offsets or --members, not --state)");
  }
  if (values.type !== undefined && action !== "list") throw new UsageError("--type needs --list");
  const types = String(values.type ?? "").split(",").map((t) => t.trim().toLowerCase())
    .filter((t) => t !== "");
  if (types.some((t) => t !== "classic" && t !== "consumer")) {
    throw new UsageError(
      `Invalid types list '${values.type}'. Valid types are: classic, consumer`,
    );
  }
  if (values.state && action !== "describe" && action !== "list") {
    throw new UsageError("--state needs --describe or --list");
  }
  const topics = ((values.topic as string[] | undefined) ?? []).map(parseTopicSpec);
  const specs = RESET_SPECS.filter((s) => values[s] !== undefined);
  if (action === "reset-offsets") {
    if (specs.length !== 1) {
      throw new UsageError(
        "--reset-offsets needs exactly one of --to-earliest, --to-latest, --to-current, " +
          "--to-offset, --shift-by or --to-datetime",
      );
    }
    if ((topics.length === 0) === !values["all-topics"]) {
      throw new UsageError("--reset-offsets needs --topic or --all-topics (one of them)");
    }
    if (values.execute && values["dry-run"]) {
      throw new UsageError("--execute and --dry-run cannot be used together");
    }
  } else {
    if (specs.length > 0 || topics.length > 0 || values["all-topics"]) {
      throw new UsageError(
        `--${specs[0] ?? (topics.length > 0 ? "topic" : "all-topics")} needs --reset-offsets`,
      );
    }
    if (values.execute || values["dry-run"]) {
      throw new UsageError(`--${values.execute ? "execute" : "dry-run"} needs --reset-offsets`);
    }
  }
  const toOffset = parseIntFlag(values["to-offset"], "--to-offset", 0);
  const shiftBy = parseIntFlag(values["shift-by"], "--shift-by", Number.MIN_SAFE_INTEGER);
  const datetime = values["to-datetime"] === undefined
    ? undefined
    : parseDateTime(values["to-datetime"] as string);

  const client = new Client({
    ...(await commandConfig(values["command-config"])),
    bootstrapServers: values["bootstrap-server"] as string,
    clientId: "sluice-groups",
  });
  try {
    const admin = new Admin(client);
    switch (action) {
      case "list": {
        const groups = await admin.listGroups({ types: types as GroupType[] });
        const withType = values.type !== undefined;
        if (values.state || withType) {
          // as kafka-consumer-groups.sh: Kafka's GroupType names ("Classic", "Consumer")
          const type = (t: string) => t === "" ? "Classic" : t[0].toUpperCase() + t.slice(1);
          io.stdout(formatTable(
            [
              ["GROUP", ...(withType ? ["TYPE"] : []), ...(values.state ? ["STATE"] : [])],
              ...groups.map((g) => [
                g.groupId,
                ...(withType ? [type(g.type)] : []),
                ...(values.state ? [g.state] : []),
              ]),
            ],
            withType && values.state ? [25, 20, 0] : [25, 0],
          ));
        } else io.stdout(groups.map((g) => g.groupId + "\n").join(""));
        return 0;
      }
      case "describe":
        return await describe(client, admin, group!, values, io);
      case "delete": {
        try {
          await admin.deleteConsumerGroups([group!]);
        } catch (e) {
          if (e instanceof KafkaError) {
            const why = e.errorName === "NON_EMPTY_GROUP"
              ? "The group is not empty."
              : e.errorName === "GROUP_ID_NOT_FOUND"
              ? "The group id does not exist."
              : e.message;
            throw new Error(`Deletion of consumer group '${group}' failed: ${why}`);
          }
          throw e;
        }
        io.stdout(`Deletion of requested consumer groups ('${group}') was successful.\n`);
        return 0;
      }
      default:
        return await reset(admin, group!, {
          topics,
          spec: specs[0],
          toOffset,
          shiftBy,
          datetime,
          execute: values.execute === true,
          dryRun: values["dry-run"] === true,
        }, io);
    }
  } finally {
    await client.close();
  }
}

async function describe(
  client: Client,
  admin: Admin,
  group: string,
  values: Record<string, unknown>,
  io: CommandIo,
): Promise<number> {
  const output = String(values.output);
  if (output !== "text" && output !== "json") {
    throw new UsageError(`invalid --output "${output}": expected text or json`);
  }
  const [d] = await admin.describeGroups([group]);
  const committed = d.state === "Dead" ? [] : await admin.listConsumerGroupOffsets(group);
  if (d.state === "Dead" && committed.length === 0) {
    throw new Error(`Consumer group '${group}' does not exist.`);
  }
  if (output === "json") {
    const rows = await offsetRows(admin, d, committed);
    io.stdout(
      JSON.stringify({
        group,
        type: d.type,
        state: d.state,
        coordinator: d.coordinator,
        protocol: d.protocol,
        ...(d.type === "consumer"
          ? { groupEpoch: d.groupEpoch, targetAssignmentEpoch: d.targetAssignmentEpoch }
          : {}),
        members: d.members.map((m) => ({
          memberId: m.memberId,
          clientId: m.clientId,
          host: m.clientHost,
          assignment: m.assignment.map((a) => ({ topic: a.topic, partitions: a.partitions })),
          ...(d.type === "consumer"
            ? {
              memberEpoch: m.memberEpoch,
              ...(m.subscribedTopicRegex ? { subscribedTopicRegex: m.subscribedTopicRegex } : {}),
              targetAssignment: (m.targetAssignment ?? []).map((a) => ({
                topic: a.topic,
                partitions: a.partitions,
              })),
            }
            : {}),
        })),
        offsets: rows.map((r) => ({
          topic: r.topic,
          partition: r.partition,
          currentOffset: r.currentOffset,
          leaderEpoch: r.leaderEpoch,
          logEndOffset: r.logEndOffset,
          lag: r.currentOffset === null || r.logEndOffset === null
            ? null
            : Math.max(0, r.logEndOffset - r.currentOffset),
          consumerId: r.consumerId,
        })),
      }) + "\n",
    );
    return 0;
  }
  const out: string[] = [];
  if (d.members.length > 0 && REBALANCING.includes(d.state)) {
    io.stderr(`\nWarning: Consumer group '${group}' is rebalancing.\n`);
  }
  if (values.state) {
    const b = client.brokers.find((x) => x.nodeId === d.coordinator);
    const coordinator = b ? `${b.host}:${b.port}` : "-";
    out.push(formatTable(
      [["GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"], [
        group,
        `${coordinator} (${d.coordinator})`,
        d.protocol === "" ? "-" : d.protocol,
        d.state,
        String(d.members.length),
      ]],
      [25, 25, 20, 15, 0],
    ));
    io.stdout("\n" + out.join(""));
    return 0;
  }
  if (d.members.length === 0) out.push(`\nConsumer group '${group}' has no active members.\n`);
  if (values.members) {
    const verbose = values.verbose === true;
    const instance = d.members.some((m) => m.groupInstanceId !== null);
    out.push(
      "\n" + formatTable(
        [
          [
            "GROUP",
            "CONSUMER-ID",
            ...(instance ? ["GROUP-INSTANCE-ID"] : []),
            "HOST",
            "CLIENT-ID",
            "#PARTITIONS",
            ...(verbose ? ["ASSIGNMENT"] : []),
          ],
          ...d.members.map((m) => [
            group,
            m.memberId,
            ...(instance ? [m.groupInstanceId ?? ""] : []),
            m.clientHost,
            m.clientId,
            String(m.assignment.reduce((n, a) => n + a.partitions.length, 0)),
            ...(verbose ? [formatAssignment(m.assignment)] : []),
          ]),
        ],
        [15, 15, ...(instance ? [17] : []), 15, 15, verbose ? 15 : 0, 0],
      ),
    );
    io.stdout(out.join(""));
    return 0;
  }
  const rows = await offsetRows(admin, d, committed);
  out.push("\n" + formatOffsets(rows, { verbose: values.verbose === true }));
  io.stdout(out.join(""));
  return 0;
}

/** States in which kafka-consumer-groups.sh warns that the group is rebalancing. */
const REBALANCING = ["PreparingRebalance", "CompletingRebalance", "Assigning", "Reconciling"];

/**
 * A member's partitions as `kafka-consumer-groups.sh --describe --members --verbose` prints
 * them: `topic(0,1), other(2)`, topics sorted, `-` for none.
 *
 * @example
 * ```ts
 * import { formatAssignment } from "./groups.ts";
 * formatAssignment([{ topic: "t", partitions: [1, 0] }]); // "t(0,1)"
 * ```
 *
 * @param assignment The member's partitions by topic.
 * @returns The text.
 */
export function formatAssignment(
  assignment: Array<{ topic: string; partitions: number[] }>,
): string {
  const parts = assignment.filter((a) => a.partitions.length > 0)
    .map((a) => `${a.topic}(${[...a.partitions].sort((x, y) => x - y).join(",")})`)
    .sort();
  return parts.length === 0 ? "-" : parts.join(", ");
}

async function offsetRows(
  admin: Admin,
  d: ConsumerGroupDescription,
  committed: CommittedOffset[],
): Promise<OffsetRow[]> {
  const rows = new Map<string, OffsetRow>();
  const key = (t: string, p: number) => `${t}\u0000${p}`;
  for (const m of d.members) {
    for (const a of m.assignment) {
      for (const p of a.partitions) {
        rows.set(key(a.topic, p), {
          group: d.groupId,
          topic: a.topic,
          partition: p,
          currentOffset: null,
          leaderEpoch: null,
          logEndOffset: null,
          consumerId: m.memberId,
          host: m.clientHost,
          clientId: m.clientId,
        });
      }
    }
  }
  for (const c of committed) {
    const row = rows.get(key(c.topic, c.partition)) ?? {
      group: d.groupId,
      topic: c.topic,
      partition: c.partition,
      currentOffset: null,
      leaderEpoch: null,
      logEndOffset: null,
      consumerId: null,
      host: null,
      clientId: null,
    };
    row.currentOffset = c.offset;
    row.leaderEpoch = c.leaderEpoch;
    rows.set(key(c.topic, c.partition), row);
  }
  const list = [...rows.values()].sort((a, b) =>
    a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition
  );
  await Promise.all(list.map(async (r) => {
    try {
      const [end] = await admin.listOffsets([
        { topic: r.topic, partition: r.partition, spec: "latest" },
      ]);
      r.logEndOffset = end.offset;
    } catch { /* a deleted topic: leave "-" */ }
  }));
  return list;
}

interface ResetPlan {
  topics: TopicSpec[];
  spec: (typeof RESET_SPECS)[number];
  toOffset?: number;
  shiftBy?: number;
  datetime?: number;
  execute: boolean;
  dryRun: boolean;
}

async function reset(admin: Admin, group: string, plan: ResetPlan, io: CommandIo): Promise<number> {
  const [d] = await admin.describeGroups([group]);
  if (d.state !== "Empty" && d.state !== "Dead") {
    throw new Error(
      `Assignments can only be reset if the group '${group}' is inactive, but the current ` +
        `state is ${d.state}.`,
    );
  }
  const committed = d.state === "Dead" ? [] : await admin.listConsumerGroupOffsets(group);
  let partitions: Array<{ topic: string; partition: number }>;
  if (plan.topics.length === 0) {
    partitions = committed.map((c) => ({ topic: c.topic, partition: c.partition }));
  } else {
    partitions = [];
    const described = await admin.describeTopics([...new Set(plan.topics.map((t) => t.topic))]);
    for (const t of plan.topics) {
      const count = described.find((x) => x.name === t.topic)!.partitions.length;
      for (const p of t.partitions ?? Array.from({ length: count }, (_, i) => i)) {
        if (p >= count) {
          throw new UsageError(
            `invalid --topic ${t.topic}:${p}: the topic has ${count} partitions`,
          );
        }
        if (!partitions.some((x) => x.topic === t.topic && x.partition === p)) {
          partitions.push({ topic: t.topic, partition: p });
        }
      }
    }
  }
  const q = (spec: "earliest" | "latest" | { timestamp: number }) =>
    partitions.length === 0
      ? Promise.resolve([])
      : admin.listOffsets(partitions.map((p) => ({ ...p, spec })));
  const [earliest, latest] = await Promise.all([q("earliest"), q("latest")]);
  const byTime = plan.datetime === undefined ? [] : await q({ timestamp: plan.datetime });
  const clamp = (o: number, i: number) =>
    Math.min(Math.max(o, earliest[i].offset), latest[i].offset);
  const current = (i: number) => {
    const p = partitions[i];
    const c = committed.find((x) => x.topic === p.topic && x.partition === p.partition);
    return c ? c.offset : latest[i].offset;
  };
  const next = partitions.map((p, i) => {
    let offset: number;
    switch (plan.spec) {
      case "to-earliest":
        offset = earliest[i].offset;
        break;
      case "to-latest":
        offset = latest[i].offset;
        break;
      case "to-current":
        offset = current(i);
        break;
      case "to-offset":
        offset = clamp(plan.toOffset!, i);
        break;
      case "shift-by":
        offset = clamp(current(i) + plan.shiftBy!, i);
        break;
      default:
        offset = byTime[i].offset >= 0 ? byTime[i].offset : latest[i].offset;
    }
    return { ...p, offset };
  }).sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition);
  if (plan.execute) await admin.alterConsumerGroupOffsets(group, next);
  else if (!plan.dryRun) {
    io.stderr("WARN: No action will be performed as the --execute option is missing.\n");
  }
  io.stdout(
    "\n" + formatTable(
      [
        ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"],
        ...next.map((n) => [group, n.topic, String(n.partition), String(n.offset)]),
      ],
      [30, 30, 10, 0],
    ),
  );
  return 0;
}
