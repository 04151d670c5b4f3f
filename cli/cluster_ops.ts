/**
 * The operations of `sluice cluster` (docs/CLUSTER.md "Operations"):
 *
 * - `elect-leaders`: preferred or unclean leader elections (ElectLeaders);
 * - `reassign`: partition reassignments from a plan in the JSON format of Kafka's
 *   `kafka-reassign-partitions.sh` (AlterPartitionReassignments), listed
 *   (ListPartitionReassignments), verified, cancelled, and waited for;
 * - `decommission`: moves every replica off a broker (reassignments to the least loaded other
 *   brokers), waits until none is left there, after which the broker can be stopped.
 *
 * They work against any Kafka-compatible cluster that serves these APIs.
 *
 * @module
 */

import {
  Admin,
  Client,
  type PartitionOutcome,
  type PartitionReassignment,
  type PartitionReassignmentSpec,
  type TopicDescription,
} from "../client/mod.ts";
import { parseFlags, parseIntFlag, UsageError } from "./args.ts";
import { COMMAND_CONFIG_HELP, COMMAND_CONFIG_OPTION, commandConfig } from "./command_config.ts";
import { formatTable } from "./groups.ts";
import type { CommandIo } from "./io.ts";

/** Help text of `sluice cluster elect-leaders`. */
export const ELECT_LEADERS_HELP: string =
  `Usage: sluice cluster elect-leaders [--bootstrap-server HOST:PORT] [OPTIONS]

Elects leaders: the preferred replica (the first of a partition's replicas, when it is alive and
in the ISR), or with --type unclean any live replica of a partition that has no live leader
(records only the old ISR had may be lost).

Options:
  --bootstrap-server LIST  Brokers to connect to (default localhost:9092)
  --type TYPE              preferred (default) or unclean
  --topic TOPIC            Only this topic (default: every partition of the cluster)
  --partition N            Only this partition of --topic
${COMMAND_CONFIG_HELP}  -h, --help               Show this help

Exit code 0 when every partition asked for was elected or needed no election, else 1.
`;

/** Help text of `sluice cluster reassign`. */
export const REASSIGN_HELP: string =
  `Usage: sluice cluster reassign [--bootstrap-server HOST:PORT] (--plan FILE [--wait | --verify | --cancel] | --list | --cancel)

Moves partitions' replicas to other brokers while clients keep running. The plan is the JSON of
Kafka's kafka-reassign-partitions.sh:
  {"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[4,2,3]}]}
The first replica of each list is the preferred leader. New replicas copy the partition, join
the ISR, then the leadership moves if the leader is removed and the removed replicas delete
their copies.

Options:
  --bootstrap-server LIST  Brokers to connect to (default localhost:9092)
  --plan FILE              The plan ("-" reads it from standard input)
  --wait                   With --plan: wait until the reassignments are complete
  --verify                 With --plan: check that every partition has its planned replicas
  --cancel                 Cancel the plan's reassignments (every one in progress without --plan)
  --list                   List the reassignments in progress
  --timeout-ms N           How long --wait waits (default 600000)
  --output FORMAT          text (default) or json (--list)
${COMMAND_CONFIG_HELP}  -h, --help               Show this help
`;

/** Help text of `sluice cluster decommission`. */
export const DECOMMISSION_HELP: string =
  `Usage: sluice cluster decommission --broker N [--bootstrap-server HOST:PORT] [OPTIONS]

Moves every replica off broker N: each partition that has a replica there gets, in its place,
the registered broker with the fewest replicas that does not have one of it yet. Waits until
broker N holds no replica; it can then be stopped. New topics may still be placed on it until it
is stopped.

Options:
  --bootstrap-server LIST  Brokers to connect to (default localhost:9092)
  --broker N               The broker to empty
  --dry-run                Print the plan (Kafka's JSON) without moving anything
  --timeout-ms N           How long to wait (default 600000)
${COMMAND_CONFIG_HELP}  -h, --help               Show this help
`;

/** A plan's partition (Kafka's reassignment JSON). */
export interface PlannedPartition {
  /** Topic. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Target replicas, preferred leader first. */
  replicas: number[];
}

/**
 * Parses a reassignment plan in the JSON format of Kafka's `kafka-reassign-partitions.sh`
 * (`log_dirs` may only say `"any"`).
 *
 * @example
 * ```ts
 * import { parsePlan } from "./cluster_ops.ts";
 *
 * const plan = parsePlan('{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3]}]}');
 * console.assert(plan[0].replicas.join() === "2,3");
 * ```
 *
 * @param text The JSON.
 * @returns The partitions, in order.
 * @throws {UsageError} If it is not such a plan (the message says where).
 */
export function parsePlan(text: string): PlannedPartition[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`invalid plan: not JSON: ${e instanceof Error ? e.message : e}`);
  }
  const bad = (what: string): never => {
    throw new UsageError(`invalid plan: ${what}`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) bad("not a JSON object");
  const o = json as Record<string, unknown>;
  if (o.version !== 1) bad(`"version" must be 1, got ${JSON.stringify(o.version)}`);
  if (!Array.isArray(o.partitions)) bad(`"partitions" must be an array`);
  const seen = new Set<string>();
  return (o.partitions as unknown[]).map((p, i) => {
    const at = `partitions[${i}]`;
    if (typeof p !== "object" || p === null) return bad(`${at} is not an object`);
    const e = p as Record<string, unknown>;
    if (typeof e.topic !== "string" || e.topic === "") bad(`${at}.topic must be a topic name`);
    if (!Number.isInteger(e.partition) || (e.partition as number) < 0) {
      bad(`${at}.partition must be an integer ≥ 0`);
    }
    if (
      !Array.isArray(e.replicas) ||
      !e.replicas.every((r) => Number.isInteger(r) && r >= 0)
    ) bad(`${at}.replicas must be an array of broker ids`);
    if (
      e.log_dirs !== undefined &&
      (!Array.isArray(e.log_dirs) || e.log_dirs.some((d) => d !== "any"))
    ) bad(`${at}.log_dirs: only "any" is supported`);
    const key = `${e.topic}-${e.partition}`;
    if (seen.has(key)) bad(`${at}: ${key} is listed twice`);
    seen.add(key);
    return {
      topic: e.topic as string,
      partition: e.partition as number,
      replicas: [...(e.replicas as number[])],
    };
  });
}

/**
 * Formats partitions as a plan in Kafka's JSON.
 *
 * @param partitions The partitions.
 * @returns The JSON, one line.
 */
export function formatPlan(partitions: PlannedPartition[]): string {
  return JSON.stringify({
    version: 1,
    partitions: partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      replicas: p.replicas,
    })),
  });
}

/**
 * The reassignments that empty broker `broker`: in each partition that has a replica there, the
 * registered broker with the fewest replicas (over the whole cluster, counting the moves planned
 * so far; the lowest id on a tie) that does not have one of it takes its place.
 *
 * @example
 * ```ts
 * import { decommissionPlan } from "./cluster_ops.ts";
 *
 * const plan = decommissionPlan(1, [1, 2, 3, 4], [{ name: "t", topicId: "", internal: false, partitions: [
 *   { partition: 0, leader: 1, replicas: [1, 2, 3], isr: [1, 2, 3], offlineReplicas: [] },
 * ] }]);
 * console.assert(plan[0].replicas.join() === "4,2,3");
 * ```
 *
 * @param broker The broker to empty.
 * @param brokers The registered brokers.
 * @param topics Every topic.
 * @returns The plan (empty when the broker holds nothing).
 * @throws {Error} If a partition has no other broker to go to.
 */
export function decommissionPlan(
  broker: number,
  brokers: number[],
  topics: TopicDescription[],
): PlannedPartition[] {
  const load = new Map<number, number>(brokers.map((b) => [b, 0]));
  for (const t of topics) {
    for (const p of t.partitions) {
      for (const r of p.replicas) if (load.has(r)) load.set(r, load.get(r)! + 1);
    }
  }
  const others = brokers.filter((b) => b !== broker);
  const plan: PlannedPartition[] = [];
  const sorted = [...topics].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const t of sorted) {
    for (const p of [...t.partitions].sort((a, b) => a.partition - b.partition)) {
      const at = p.replicas.indexOf(broker);
      if (at < 0) continue;
      const candidates = others.filter((b) => !p.replicas.includes(b));
      if (candidates.length === 0) {
        throw new Error(
          `cannot move ${t.name}-${p.partition} off broker ${broker}: its replicas ` +
            `[${p.replicas}] are on every other registered broker ([${others}])`,
        );
      }
      candidates.sort((a, b) => load.get(a)! - load.get(b)! || a - b);
      const to = candidates[0];
      load.set(to, load.get(to)! + 1);
      const replicas = [...p.replicas];
      replicas[at] = to;
      plan.push({ topic: t.name, partition: p.partition, replicas });
    }
  }
  return plan;
}

async function connect(
  values: Record<string, unknown>,
): Promise<{ client: Client; admin: Admin }> {
  const client = new Client({
    ...(await commandConfig(values["command-config"])),
    bootstrapServers: values["bootstrap-server"] as string,
    clientId: "sluice-cluster",
    retries: 10,
  });
  return { client, admin: new Admin(client, { timeoutMs: 30_000 }) };
}

function outcomeTable(rows: PartitionOutcome[], ok: (r: PartitionOutcome) => string): string {
  return formatTable(
    [
      ["TOPIC", "PARTITION", "RESULT"],
      ...rows.map((r) => [
        r.topic,
        String(r.partition),
        r.error === null ? ok(r) : r.error.message,
      ]),
    ],
    [0, 0, 0],
  );
}

/**
 * Runs `sluice cluster elect-leaders`.
 *
 * @param args Arguments after `elect-leaders`.
 * @param io Where to write output.
 * @returns The exit code.
 * @throws {UsageError} On bad flags.
 * @throws {KafkaError} When the cluster cannot be reached.
 */
export async function runElectLeaders(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    type: { type: "string", default: "preferred" },
    topic: { type: "string" },
    partition: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(ELECT_LEADERS_HELP);
    return 0;
  }
  const type = values.type as string;
  if (type !== "preferred" && type !== "unclean") {
    throw new UsageError(`invalid --type "${type}": expected preferred or unclean`);
  }
  const partition = parseIntFlag(values.partition, "--partition", 0);
  if (partition !== undefined && values.topic === undefined) {
    throw new UsageError("--partition needs --topic");
  }
  const { client, admin } = await connect(values);
  try {
    let partitions: { topic: string; partition: number }[] | null = null;
    if (values.topic !== undefined) {
      const topic = values.topic as string;
      if (partition !== undefined) partitions = [{ topic, partition }];
      else {
        const [t] = await admin.describeTopics([topic]);
        partitions = t.partitions.map((p) => ({ topic, partition: p.partition }));
      }
    }
    const results = await admin.electLeaders(type, partitions);
    const elected = results.filter((r) => r.error === null).length;
    const failed = results.filter((r) =>
      r.error !== null && r.error.errorName !== "ELECTION_NOT_NEEDED"
    );
    io.stdout(`${elected} leader${elected === 1 ? "" : "s"} elected (${type})\n`);
    if (results.length > 0) io.stdout(outcomeTable(results, () => "elected"));
    return failed.length === 0 ? 0 : 1;
  } finally {
    await client.close();
  }
}

/**
 * Runs `sluice cluster reassign`.
 *
 * @param args Arguments after `reassign`.
 * @param io Where to write output.
 * @returns The exit code.
 * @throws {UsageError} On bad flags or a bad plan.
 * @throws {KafkaError} When the cluster cannot be reached.
 */
export async function runReassign(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    plan: { type: "string" },
    wait: { type: "boolean" },
    verify: { type: "boolean" },
    cancel: { type: "boolean" },
    list: { type: "boolean" },
    "timeout-ms": { type: "string" },
    output: { type: "string", default: "text" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(REASSIGN_HELP);
    return 0;
  }
  const modes = ["list", "verify", "cancel"].filter((m) => values[m] === true);
  if (modes.length > 1) throw new UsageError(`--${modes.join(" and --")} exclude each other`);
  if (values.list && values.plan !== undefined) throw new UsageError("--list takes no --plan");
  if (!values.list && !values.cancel && values.plan === undefined) {
    throw new UsageError("give --plan FILE, --list or --cancel (see --help)");
  }
  if (values.wait && (values.list || values.verify)) {
    throw new UsageError("--wait goes with --plan (or --cancel)");
  }
  const output = values.output as string;
  if (output !== "text" && output !== "json") {
    throw new UsageError(`invalid --output "${output}": expected text or json`);
  }
  const timeoutMs = parseIntFlag(values["timeout-ms"], "--timeout-ms", 1) ?? 600_000;
  let plan: PlannedPartition[] | undefined;
  if (values.plan !== undefined) {
    const file = values.plan as string;
    let text: string;
    try {
      text = file === "-" ? await new Response(io.stdin).text() : await Deno.readTextFile(file);
    } catch (e) {
      throw new UsageError(
        `cannot read plan ${file}: ${e instanceof Error ? e.message : e}`,
      );
    }
    plan = parsePlan(text);
  }
  const { client, admin } = await connect(values);
  try {
    if (values.list) {
      const list = await admin.listPartitionReassignments();
      if (output === "json") io.stdout(JSON.stringify(list, null, 2) + "\n");
      else io.stdout(formatReassignments(list));
      return 0;
    }
    if (values.verify) {
      const topics = await admin.describeTopics([...new Set(plan!.map((p) => p.topic))]);
      const ongoing = await admin.listPartitionReassignments();
      let bad = 0;
      const rows = plan!.map((p) => {
        const now = topics.find((t) => t.name === p.topic)?.partitions
          .find((x) => x.partition === p.partition)?.replicas ?? [];
        const inProgress = ongoing.some((o) => o.topic === p.topic && o.partition === p.partition);
        const done = !inProgress && now.join() === p.replicas.join();
        if (!done) bad++;
        return [
          p.topic,
          String(p.partition),
          done ? "complete" : inProgress ? "in progress" : `replicas [${now}], not [${p.replicas}]`,
        ];
      });
      io.stdout(formatTable([["TOPIC", "PARTITION", "STATUS"], ...rows], [0, 0, 0]));
      return bad === 0 ? 0 : 1;
    }
    let changes: PartitionReassignmentSpec[];
    if (values.cancel) {
      changes = plan !== undefined
        ? plan.map((p) => ({ topic: p.topic, partition: p.partition, replicas: null }))
        : (await admin.listPartitionReassignments()).map((r) => ({
          topic: r.topic,
          partition: r.partition,
          replicas: null,
        }));
    } else {
      changes = plan!.map((p) => ({ ...p }));
    }
    if (changes.length === 0) {
      io.stdout("Nothing to do\n");
      return 0;
    }
    const results = await admin.alterPartitionReassignments(changes);
    const failed = results.filter((r) => r.error !== null);
    io.stdout(
      `${results.length - failed.length} of ${results.length} reassignment${
        results.length === 1 ? "" : "s"
      } ${values.cancel ? "cancelled" : "started"}\n`,
    );
    io.stdout(outcomeTable(results, () => values.cancel ? "cancelled" : "started"));
    if (values.wait && failed.length < results.length) {
      const ok = results.filter((r) => r.error === null);
      const waited = await waitForReassignments(admin, ok, timeoutMs);
      if (waited.length > 0) {
        io.stderr(`${waited.length} reassignment(s) still in progress after ${timeoutMs} ms\n`);
        return 1;
      }
      io.stdout(`All ${ok.length} complete\n`);
    }
    return failed.length === 0 ? 0 : 1;
  } finally {
    await client.close();
  }
}

/**
 * Runs `sluice cluster decommission`.
 *
 * @param args Arguments after `decommission`.
 * @param io Where to write output.
 * @returns The exit code.
 * @throws {UsageError} On bad flags.
 * @throws {KafkaError} When the cluster cannot be reached.
 */
export async function runDecommission(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    broker: { type: "string" },
    "dry-run": { type: "boolean" },
    "timeout-ms": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(DECOMMISSION_HELP);
    return 0;
  }
  const broker = parseIntFlag(values.broker, "--broker", 0);
  if (broker === undefined) throw new UsageError("--broker N is required");
  const timeoutMs = parseIntFlag(values["timeout-ms"], "--timeout-ms", 1) ?? 600_000;
  const { client, admin } = await connect(values);
  try {
    const cluster = await admin.describeCluster();
    const ids = cluster.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
    if (!ids.includes(broker)) {
      io.stderr(`broker ${broker} is not registered (registered: [${ids}])\n`);
      return 1;
    }
    const ongoing = await admin.listPartitionReassignments();
    if (ongoing.length > 0) {
      io.stderr(
        `${ongoing.length} reassignment(s) in progress (sluice cluster reassign --list); ` +
          `let them finish or cancel them first\n`,
      );
      return 1;
    }
    let plan: PlannedPartition[];
    try {
      plan = decommissionPlan(broker, ids, await admin.describeTopics());
    } catch (e) {
      io.stderr(`${e instanceof Error ? e.message : e}\n`);
      return 1;
    }
    if (values["dry-run"]) {
      io.stdout(formatPlan(plan) + "\n");
      return 0;
    }
    if (plan.length === 0) {
      io.stdout(`Broker ${broker} holds no replica: it can be stopped\n`);
      return 0;
    }
    io.stdout(`Moving ${plan.length} replica(s) off broker ${broker}\n`);
    const results = await admin.alterPartitionReassignments(plan);
    const failed = results.filter((r) => r.error !== null);
    if (failed.length > 0) {
      io.stdout(outcomeTable(failed, () => ""));
      io.stderr(
        `${failed.length} reassignment(s) refused; broker ${broker} still holds replicas\n`,
      );
      return 1;
    }
    const left = await waitForReassignments(admin, results, timeoutMs);
    if (left.length > 0) {
      io.stderr(`${left.length} reassignment(s) still in progress after ${timeoutMs} ms\n`);
      return 1;
    }
    const after = await admin.describeTopics();
    const still = after.flatMap((t) =>
      t.partitions.filter((p) => p.replicas.includes(broker)).map((p) => `${t.name}-${p.partition}`)
    );
    if (still.length > 0) {
      io.stderr(
        `broker ${broker} still holds ${still.length} replica(s) (${
          still.slice(0, 5).join(", ")
        }): topics created meanwhile? Run it again\n`,
      );
      return 1;
    }
    io.stdout(
      `Broker ${broker} holds no replica any more (${plan.length} moved): it can be stopped\n`,
    );
    return 0;
  } finally {
    await client.close();
  }
}

/** Polls until none of `partitions` has a reassignment in progress; returns those left. */
async function waitForReassignments(
  admin: Admin,
  partitions: { topic: string; partition: number }[],
  timeoutMs: number,
): Promise<PartitionReassignment[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await admin.listPartitionReassignments(partitions);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function formatReassignments(list: PartitionReassignment[]): string {
  const ids = (a: number[]) => a.length === 0 ? "-" : a.join(",");
  let out = `Reassignments in progress: ${list.length}\n`;
  if (list.length > 0) {
    out += formatTable(
      [
        ["TOPIC", "PARTITION", "REPLICAS", "ADDING", "REMOVING"],
        ...list.map((r) => [
          r.topic,
          String(r.partition),
          ids(r.replicas),
          ids(r.addingReplicas),
          ids(r.removingReplicas),
        ]),
      ],
      [0, 0, 0, 0, 0],
    );
  }
  return out;
}
