// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Distributed mode (Kafka's `DistributedHerder`): workers sharing a `group.id` keep connector
 * configurations in `config.storage.topic`, source offsets in `offset.storage.topic` and
 * statuses in `status.storage.topic` (all compacted, created at start when missing), and split
 * connectors and tasks between them through the group protocol: the leader assigns them round
 * robin over the members (sorted by member id) in SyncGroup.
 *
 * Rebalances are eager, as Kafka Connect's `connect.protocol=eager`: before rejoining, a worker
 * stops everything it runs (storing source offsets, committing sink offsets), so a task never
 * runs on two workers at once. A worker rejoins when a heartbeat says the group rebalances and
 * when the config topic shows a connector added, removed or reconfigured, or new task
 * configurations. Pauses, resumes and restarts are records of the config topic too
 * (`target-state-NAME`, `restart-NAME`) that each worker applies to what it runs, so any
 * worker's REST API can take any call.
 *
 * @module
 */

import { Admin } from "../client/admin.ts";
import type { Client } from "../client/client.ts";
import { Producer } from "../client/producer.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { WorkerGroupMember } from "./group_member.ts";
import {
  checkedConfig,
  type ConnectorInfo,
  type ConnectorStateInfo,
  ConnectRestError,
  type Herder,
  notFound,
  type RestartOptions,
  stateInfo,
  StatusStore,
  typeOf,
} from "./herder.ts";
import { readTopicToEnd } from "./topic_reader.ts";
import type { Log, Status, TargetState, TaskId, Worker } from "./worker.ts";
import { sleep } from "./sleep.ts";

/** What the leader gives each member. */
interface Assignment {
  connectors: string[];
  tasks: TaskId[];
}

interface Restart {
  connector: string;
  task?: number;
  includeTasks?: boolean;
  onlyFailed?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function parse(bytes: Uint8Array | null): Record<string, unknown> | null {
  if (bytes === null) return null;
  try {
    const v = JSON.parse(decoder.decode(bytes));
    return typeof v === "object" && v !== null ? v : null;
  } catch {
    return null;
  }
}

/**
 * Creates a compacted topic unless it exists.
 *
 * @param admin Admin client.
 * @param name Topic.
 * @param partitions Partition count.
 * @param replicationFactor Replication factor (-1: the broker's default).
 */
async function ensureCompacted(
  admin: Admin,
  name: string,
  partitions: number,
  replicationFactor: number,
): Promise<void> {
  try {
    await admin.createTopics([{
      name,
      numPartitions: partitions,
      replicationFactor,
      configs: { "cleanup.policy": "compact" },
    }]);
  } catch (e) {
    if (!(e instanceof KafkaError) || e.code !== ErrorCode.TOPIC_ALREADY_EXISTS) throw e;
  }
}

/** Options of {@linkcode DistributedHerder}. */
export interface DistributedHerderOptions {
  /** The cluster client. */
  client: Client;
  /** Worker properties (`group.id`, the three topics, …). */
  props: Record<string, string>;
  /** Logging. */
  log?: Log;
}

/** Shares connectors and tasks between the workers of a group. */
export class DistributedHerder implements Herder {
  #client: Client;
  #props: Record<string, string>;
  #log: Log;
  #worker!: Worker;
  #member: WorkerGroupMember;
  #producer: Producer;
  #configTopic: string;
  #statusTopic: string;
  #configs = new Map<string, Record<string, string>>();
  #taskConfigs = new Map<string, Record<string, string>[]>();
  #pendingTasks = new Map<string, Map<number, Record<string, string>>>();
  #targets = new Map<string, TargetState>();
  #restarts: Restart[] = [];
  #changed = new Set<string>();
  #targetChanged = new Set<string>();
  #configPositions = new Map<number, number>();
  #statusPositions = new Map<number, number>();
  /** Statuses of every worker, read from the status topic. */
  readonly statuses: StatusStore = new StatusStore();
  #running: Assignment = { connectors: [], tasks: [] };
  #rejoin = true;
  #stopped = false;
  #wake: (() => void) | null = null;
  #loop: Promise<void> = Promise.resolve();
  #reading: Promise<void> = Promise.resolve();
  #initialRead = true;

  /**
   * Creates the herder; {@linkcode DistributedHerder.start} starts it.
   *
   * @param options Client, properties, logging.
   * @throws {Error} Without `group.id` or one of the three topics.
   */
  constructor(options: DistributedHerderOptions) {
    this.#client = options.client;
    this.#props = options.props;
    this.#log = options.log ?? (() => {});
    for (
      const k of [
        "group.id",
        "config.storage.topic",
        "offset.storage.topic",
        "status.storage.topic",
      ]
    ) {
      if (!options.props[k]) {
        throw new Error(`Missing required configuration "${k}" which has no default value.`);
      }
    }
    this.#configTopic = options.props["config.storage.topic"];
    this.#statusTopic = options.props["status.storage.topic"];
    this.#member = new WorkerGroupMember(options.client, {
      groupId: options.props["group.id"],
      sessionTimeoutMs: Number(options.props["session.timeout.ms"] ?? 10_000),
      heartbeatIntervalMs: Number(options.props["heartbeat.interval.ms"] ?? 3_000),
      rebalanceTimeoutMs: Number(options.props["rebalance.timeout.ms"] ?? 60_000),
    });
    this.#producer = new Producer(options.client, { lingerMs: 0 });
  }

  /**
   * Creates the three topics when missing (compacted).
   *
   * @param client The cluster client.
   * @param props Worker properties.
   */
  static async createTopics(client: Client, props: Record<string, string>): Promise<void> {
    const admin = new Admin(client);
    const rf = (k: string) => Number(props[k] ?? -1);
    await ensureCompacted(
      admin,
      props["config.storage.topic"],
      1,
      rf("config.storage.replication.factor"),
    );
    await ensureCompacted(
      admin,
      props["offset.storage.topic"],
      Number(props["offset.storage.partitions"] ?? 25),
      rf("offset.storage.replication.factor"),
    );
    await ensureCompacted(
      admin,
      props["status.storage.topic"],
      Number(props["status.storage.partitions"] ?? 5),
      rf("status.storage.replication.factor"),
    );
  }

  /**
   * Attaches the worker and starts the membership loop.
   *
   * @param worker The worker (whose status listener is {@linkcode DistributedHerder.onStatus}).
   */
  async start(worker: Worker): Promise<void> {
    this.#worker = worker;
    await this.#readConfig();
    await this.#readStatus();
    this.#changed.clear();
    this.#targetChanged.clear();
    this.#initialRead = false;
    this.#loop = this.#run();
  }

  /** This worker's id. */
  get workerId(): string {
    return this.#worker.workerId;
  }

  /** The cluster id seen by the client. */
  kafkaClusterId(): string | null {
    return this.#client.clusterId;
  }

  /**
   * Records a status of something running here and writes it to the status topic.
   *
   * @param what Connector, and task for a task.
   * @param status The status.
   */
  onStatus = (what: { connector: string; task?: number }, status: Status): void => {
    this.statuses.put(what, status);
    const key = what.task === undefined
      ? `status-connector-${what.connector}`
      : `status-task-${what.connector}-${what.task}`;
    this.#producer.send({
      topic: this.#statusTopic,
      messages: [{ key, value: JSON.stringify(status) }],
    }).catch((e) => this.#log("warn", `status ${key}: ${e instanceof Error ? e.message : e}`));
  };

  #sleep(ms: number): Promise<void> {
    return sleep(ms, (wake) => (this.#wake = wake));
  }

  /** Reads the config topic to its end (one reader at a time). */
  #readConfig(): Promise<void> {
    const read = this.#reading.then(() =>
      readTopicToEnd(this.#client, this.#configTopic, this.#configPositions, (r) => {
        if (!r.key) return;
        this.#apply(decoder.decode(r.key), parse(r.value));
      })
    );
    this.#reading = read.catch(() => {});
    return read;
  }

  #apply(key: string, value: Record<string, unknown> | null): void {
    let m: RegExpMatchArray | null;
    if ((m = key.match(/^connector-(.+)$/))) {
      const name = m[1];
      if (value === null) {
        this.#configs.delete(name);
        this.#taskConfigs.delete(name);
        this.#targets.delete(name);
        this.statuses.remove(name);
      } else this.#configs.set(name, value.properties as Record<string, string>);
      this.#changed.add(name);
    } else if ((m = key.match(/^target-state-(.+)$/))) {
      if (value === null) this.#targets.delete(m[1]);
      else this.#targets.set(m[1], value.state === "PAUSED" ? "PAUSED" : "STARTED");
      this.#targetChanged.add(m[1]);
    } else if ((m = key.match(/^task-(.+)-(\d+)$/))) {
      const pending = this.#pendingTasks.get(m[1]) ?? new Map();
      if (value !== null) pending.set(Number(m[2]), value.properties as Record<string, string>);
      this.#pendingTasks.set(m[1], pending);
    } else if ((m = key.match(/^commit-(.+)$/))) {
      const name = m[1];
      const n = Number(value?.tasks ?? 0);
      const pending = this.#pendingTasks.get(name) ?? new Map();
      this.#taskConfigs.set(name, Array.from({ length: n }, (_, i) => pending.get(i) ?? {}));
      this.#pendingTasks.delete(name);
      this.statuses.dropTasks(name, n);
      this.#changed.add(name);
    } else if ((m = key.match(/^restart-(.+)$/))) {
      if (!this.#initialRead && value !== null) {
        this.#restarts.push({ ...(value as unknown as Restart), connector: m[1] });
      }
    }
  }

  async #readStatus(): Promise<void> {
    await readTopicToEnd(this.#client, this.#statusTopic, this.#statusPositions, (r) => {
      if (!r.key) return;
      const key = decoder.decode(r.key);
      const v = parse(r.value) as Status | null;
      if (v === null) return;
      let m: RegExpMatchArray | null;
      if ((m = key.match(/^status-connector-(.+)$/))) {
        if (v.worker_id !== this.#worker.workerId) this.statuses.put({ connector: m[1] }, v);
      } else if ((m = key.match(/^status-task-(.+)-(\d+)$/))) {
        if (v.worker_id !== this.#worker.workerId) {
          this.statuses.put({ connector: m[1], task: Number(m[2]) }, v);
        }
      }
    });
  }

  async #write(key: string, value: unknown): Promise<void> {
    await this.#producer.send({
      topic: this.#configTopic,
      messages: [{ key, value: value === null ? null : JSON.stringify(value) }],
    });
  }

  #assign = async (
    members: Array<{ memberId: string; metadata: Uint8Array }>,
  ): Promise<Map<string, Uint8Array>> => {
    await this.#readConfig();
    const ids = members.map((m) => m.memberId).sort();
    const out = new Map<string, Assignment>(ids.map((id) => [id, { connectors: [], tasks: [] }]));
    const names = [...this.#configs.keys()].sort();
    names.forEach((name, i) => out.get(ids[i % ids.length])!.connectors.push(name));
    let i = names.length;
    for (const name of names) {
      const n = this.#taskConfigs.get(name)?.length ?? 0;
      for (let task = 0; task < n; task++) {
        out.get(ids[i++ % ids.length])!.tasks.push({ connector: name, task });
      }
    }
    this.#log("info", `connect group: assignment ${JSON.stringify(Object.fromEntries(out))}`);
    return new Map([...out].map(([id, a]) => [id, encoder.encode(JSON.stringify(a))]));
  };

  async #stopAll(): Promise<void> {
    await Promise.all(this.#running.tasks.map((t) => this.#worker.stopTask(t)));
    await Promise.all(this.#running.connectors.map((c) => this.#worker.stopConnector(c)));
    this.#running = { connectors: [], tasks: [] };
  }

  async #startConnector(name: string): Promise<void> {
    const config = this.#configs.get(name);
    if (!config) return;
    const ok = await this.#worker.startConnector(
      name,
      config,
      this.#targets.get(name) ?? "STARTED",
      () => void this.#publishTaskConfigs(name),
    );
    if (ok) await this.#publishTaskConfigs(name);
  }

  /** Writes a connector's task configurations when they differ from the stored ones. */
  async #publishTaskConfigs(name: string): Promise<void> {
    const config = this.#configs.get(name);
    if (!config || !this.#running.connectors.includes(name)) return;
    let tasks: Record<string, string>[];
    try {
      tasks = this.#worker.connectorTaskConfigs(name, config);
    } catch (e) {
      this.#worker.reportStatus(
        { connector: name },
        "FAILED",
        e instanceof Error ? e.stack : String(e),
      );
      return;
    }
    if (JSON.stringify(tasks) === JSON.stringify(this.#taskConfigs.get(name) ?? null)) return;
    for (let i = 0; i < tasks.length; i++) {
      await this.#write(`task-${name}-${i}`, { properties: tasks[i] });
    }
    await this.#write(`commit-${name}`, { tasks: tasks.length });
  }

  async #startTask(id: TaskId): Promise<void> {
    const config = this.#configs.get(id.connector);
    const taskConfig = this.#taskConfigs.get(id.connector)?.[id.task];
    if (!config || !taskConfig) return;
    await this.#worker.startTask(
      id,
      config,
      taskConfig,
      this.#targets.get(id.connector) ?? "STARTED",
    );
  }

  async #rebalance(): Promise<void> {
    this.#rejoin = false;
    await this.#stopAll();
    const joined = await this.#member.join(
      encoder.encode(JSON.stringify({ url: this.#worker.workerId })),
      this.#assign,
      () => {
        this.#rejoin = true;
        this.#wake?.();
      },
    );
    const a = JSON.parse(decoder.decode(joined.assignment)) as Assignment;
    // Changes read from here on were perhaps not in the leader's view: they trigger another
    // rebalance.
    await this.#readConfig();
    this.#log(
      "info",
      `connect group: generation ${joined.generationId}: connectors ${
        JSON.stringify(a.connectors)
      }, tasks ${JSON.stringify(a.tasks)}`,
    );
    this.#running = a;
    for (const c of a.connectors) await this.#startConnector(c);
    for (const t of a.tasks) await this.#startTask(t);
  }

  async #applyRestarts(): Promise<void> {
    const restarts = this.#restarts.splice(0);
    for (const r of restarts) {
      const failed = (s?: Status) => s?.state === "FAILED";
      if (r.task !== undefined) {
        const id = { connector: r.connector, task: r.task };
        if (this.#running.tasks.some((t) => t.connector === id.connector && t.task === id.task)) {
          await this.#worker.stopTask(id);
          await this.#startTask(id);
        }
        continue;
      }
      if (
        this.#running.connectors.includes(r.connector) &&
        (!r.onlyFailed || failed(this.statuses.connector(r.connector)))
      ) {
        await this.#worker.stopConnector(r.connector);
        await this.#startConnector(r.connector);
      }
      if (r.includeTasks) {
        for (const t of this.#running.tasks.filter((t) => t.connector === r.connector)) {
          if (r.onlyFailed && !failed(this.statuses.task(t.connector, t.task))) continue;
          await this.#worker.stopTask(t);
          await this.#startTask(t);
        }
      }
    }
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        if (this.#rejoin) await this.#rebalance();
        await this.#sleep(500);
        if (this.#stopped) break;
        await this.#readConfig();
        for (const name of this.#targetChanged) {
          const target = this.#targets.get(name) ?? "STARTED";
          this.#worker.setConnectorTarget(name, target);
          for (const t of this.#running.tasks.filter((t) => t.connector === name)) {
            this.#worker.setTaskTarget(t, target);
          }
        }
        this.#targetChanged.clear();
        await this.#applyRestarts();
        if (this.#changed.size > 0) {
          this.#log(
            "info",
            `connect group: configuration of ${[...this.#changed].join(", ")} changed`,
          );
          this.#changed.clear();
          this.#rejoin = true;
        }
        await this.#readStatus();
      } catch (e) {
        if (this.#stopped) break;
        this.#log("warn", `connect group: ${e instanceof Error ? e.message : e}`);
        this.#rejoin = true;
        await this.#sleep(1000);
      }
    }
  }

  #config(name: string): Record<string, string> {
    const c = this.#configs.get(name);
    if (!c) throw notFound(name);
    return c;
  }

  /** Names, sorted (after reading the config topic to its end). */
  async connectors(): Promise<string[]> {
    await this.#readConfig();
    return [...this.#configs.keys()].sort();
  }

  /** Configuration and task ids. */
  async connectorInfo(name: string): Promise<ConnectorInfo> {
    await this.#readConfig();
    const config = this.#config(name);
    const n = this.#taskConfigs.get(name)?.length ?? 0;
    return {
      name,
      config,
      tasks: Array.from({ length: n }, (_, task) => ({ connector: name, task })),
      type: typeOf(config),
    };
  }

  /** Validates and writes the configuration to the config topic. */
  async putConnectorConfig(
    name: string,
    config: Record<string, string>,
    allowReplace: boolean,
  ): Promise<{ created: boolean; info: ConnectorInfo }> {
    const full = checkedConfig(name, config);
    await this.#readConfig();
    const exists = this.#configs.has(name);
    if (exists && !allowReplace) {
      throw new ConnectRestError(409, `Connector ${name} already exists`);
    }
    if (!exists) await this.#write(`target-state-${name}`, { state: "STARTED" });
    await this.#write(`connector-${name}`, { properties: full });
    this.#wake?.();
    return { created: !exists, info: await this.connectorInfo(name) };
  }

  /** Writes the deletion. */
  async deleteConnector(name: string): Promise<void> {
    await this.#readConfig();
    this.#config(name);
    await this.#write(`connector-${name}`, null);
    await this.#write(`target-state-${name}`, null);
    await this.#readConfig();
    this.#wake?.();
  }

  /** Statuses from the status topic and this worker. */
  async connectorStatus(name: string): Promise<ConnectorStateInfo> {
    await this.#readConfig();
    const config = this.#config(name);
    await this.#readStatus();
    return stateInfo(name, config, this.#taskConfigs.get(name)?.length ?? 0, this.statuses);
  }

  /** Stored task configurations. */
  async taskConfigs(name: string): Promise<Array<{ id: TaskId; config: Record<string, string> }>> {
    await this.#readConfig();
    this.#config(name);
    return (this.#taskConfigs.get(name) ?? []).map((config, task) => ({
      id: { connector: name, task },
      config,
    }));
  }

  async #setTarget(name: string, state: TargetState): Promise<void> {
    await this.#readConfig();
    this.#config(name);
    await this.#write(`target-state-${name}`, { state });
    this.#wake?.();
  }

  /** Writes PAUSED. */
  pauseConnector(name: string): Promise<void> {
    return this.#setTarget(name, "PAUSED");
  }

  /** Writes STARTED. */
  resumeConnector(name: string): Promise<void> {
    return this.#setTarget(name, "STARTED");
  }

  /** Writes a restart request that the owners carry out. */
  async restartConnector(
    name: string,
    options: RestartOptions,
  ): Promise<ConnectorStateInfo | null> {
    const status = await this.connectorStatus(name);
    await this.#write(`restart-${name}`, {
      includeTasks: options.includeTasks ?? false,
      onlyFailed: options.onlyFailed ?? false,
      at: Date.now(),
    });
    this.#wake?.();
    if (!options.includeTasks && !options.onlyFailed) return null;
    const restarting = (s: Status) =>
      !options.onlyFailed || s.state === "FAILED" ? { ...s, state: "RESTARTING" as const } : s;
    return {
      ...status,
      connector: restarting(status.connector),
      tasks: status.tasks.map((t) => (options.includeTasks ? { ...restarting(t), id: t.id } : t)),
    };
  }

  /** Writes a task restart request. */
  async restartTask(name: string, task: number): Promise<void> {
    await this.#readConfig();
    this.#config(name);
    const n = this.#taskConfigs.get(name)?.length ?? 0;
    if (!Number.isInteger(task) || task < 0 || task >= n) {
      throw new ConnectRestError(404, `Task ${name}-${task} not found`);
    }
    await this.#write(`restart-${name}`, { task, at: Date.now() });
    this.#wake?.();
  }

  /** Stops what runs here and leaves the group. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    await this.#stopAll();
    await this.#member.leave();
    await this.#worker.stop();
    await this.#producer.close().catch(() => {});
  }
}
