// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * What the REST API drives (Kafka's `Herder`): connector configurations, their tasks' configs,
 * target states (running or paused) and statuses; {@linkcode StandaloneHerder} keeps them in
 * memory for one worker.
 *
 * @module
 */

import { ConfigError } from "./config.ts";
import { findPlugin } from "./plugins.ts";
import {
  type Status,
  type TargetState,
  type TaskId,
  validateConnectorConfig,
  type Worker,
} from "./worker.ts";

/** A failed REST call: its HTTP status and Kafka Connect's message. */
export class ConnectRestError extends Error {
  /** HTTP status, also the body's `error_code`. */
  readonly status: number;
  /**
   * Creates the error.
   *
   * @param status HTTP status.
   * @param message Message.
   */
  constructor(status: number, message: string) {
    super(message);
    this.name = "ConnectRestError";
    this.status = status;
  }
}

/**
 * The 404 of an unknown connector, in Kafka Connect's words.
 *
 * @param name Connector name.
 * @returns The error.
 */
export function notFound(name: string): ConnectRestError {
  return new ConnectRestError(404, `Connector ${name} not found`);
}

/** `GET /connectors/{name}`. */
export interface ConnectorInfo {
  /** Name. */
  name: string;
  /** Configuration. */
  config: Record<string, string>;
  /** Its tasks. */
  tasks: TaskId[];
  /** `source` or `sink`. */
  type: "source" | "sink" | "unknown";
}

/** `GET /connectors/{name}/status`. */
export interface ConnectorStateInfo {
  /** Name. */
  name: string;
  /** The connector's status. */
  connector: Status;
  /** Its tasks' statuses. */
  tasks: Array<Status & { id: number }>;
  /** `source` or `sink`. */
  type: "source" | "sink" | "unknown";
}

/** Options of a restart (`POST /connectors/{name}/restart?includeTasks=&onlyFailed=`). */
export interface RestartOptions {
  /** Restart the tasks too. */
  includeTasks?: boolean;
  /** Only what is FAILED. */
  onlyFailed?: boolean;
}

/** What the REST API needs from a worker (standalone or distributed). */
export interface Herder {
  /** This worker's id. */
  readonly workerId: string;
  /** The Kafka cluster id. */
  kafkaClusterId(): string | null;
  /** Names of all connectors. */
  connectors(): Promise<string[]>;
  /** A connector's configuration and tasks. */
  connectorInfo(name: string): Promise<ConnectorInfo>;
  /** Creates or replaces a connector. */
  putConnectorConfig(
    name: string,
    config: Record<string, string>,
    allowReplace: boolean,
  ): Promise<{ created: boolean; info: ConnectorInfo }>;
  /** Deletes a connector. */
  deleteConnector(name: string): Promise<void>;
  /** A connector's status. */
  connectorStatus(name: string): Promise<ConnectorStateInfo>;
  /** Task configurations. */
  taskConfigs(name: string): Promise<Array<{ id: TaskId; config: Record<string, string> }>>;
  /** Pauses a connector and its tasks. */
  pauseConnector(name: string): Promise<void>;
  /** Resumes a connector and its tasks. */
  resumeConnector(name: string): Promise<void>;
  /** Restarts a connector (and tasks); returns the status for a 202, `null` for a 204. */
  restartConnector(name: string, options: RestartOptions): Promise<ConnectorStateInfo | null>;
  /** Restarts one task. */
  restartTask(name: string, task: number): Promise<void>;
  /** Stops the herder and its worker. */
  stop(): Promise<void>;
}

/**
 * Validates a configuration for a REST call: a 400 with Kafka Connect's message on error.
 *
 * @param name The connector name from the URL or body.
 * @param config The configuration.
 * @returns The configuration with `name` set.
 * @throws {ConnectRestError} 400 when invalid.
 */
export function checkedConfig(
  name: string,
  config: Record<string, string>,
): Record<string, string> {
  if (config.name !== undefined && config.name !== name) {
    throw new ConnectRestError(
      400,
      `Connector name configuration (${config.name}) doesn't match connector name in the URL (${name})`,
    );
  }
  if (!/^[^/\\]+$/.test(name) || name.trim() !== name) {
    throw new ConnectRestError(400, `Invalid connector name: ${JSON.stringify(name)}`);
  }
  const full = { ...config, name };
  try {
    validateConnectorConfig(full);
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new ConnectRestError(
        400,
        `Connector configuration is invalid and contains the following ${e.errors.length} ` +
          `error(s):\n${e.errors.join("\n")}\nYou can also find the above list of errors at the ` +
          `endpoint \`/connector-plugins/{connectorType}/config/validate\``,
      );
    }
    throw e;
  }
  return full;
}

/**
 * The type of a connector class.
 *
 * @param config A connector configuration.
 * @returns `source`, `sink`, or `unknown`.
 */
export function typeOf(config: Record<string, string>): "source" | "sink" | "unknown" {
  return findPlugin(config["connector.class"] ?? "")?.type ?? "unknown";
}

/** Statuses of connectors and tasks, as reported by workers. */
export class StatusStore {
  #connectors = new Map<string, Status>();
  #tasks = new Map<string, Map<number, Status>>();

  /**
   * Records a status.
   *
   * @param what Connector, and task number for a task.
   * @param status The status.
   */
  put(what: { connector: string; task?: number }, status: Status): void {
    if (what.task === undefined) this.#connectors.set(what.connector, status);
    else {
      const m = this.#tasks.get(what.connector) ?? new Map();
      m.set(what.task, status);
      this.#tasks.set(what.connector, m);
    }
  }

  /**
   * A connector's status.
   *
   * @param name Connector name.
   * @returns Its status, or `undefined`.
   */
  connector(name: string): Status | undefined {
    return this.#connectors.get(name);
  }

  /**
   * A task's status.
   *
   * @param name Connector name.
   * @param task Task number.
   * @returns Its status, or `undefined`.
   */
  task(name: string, task: number): Status | undefined {
    return this.#tasks.get(name)?.get(task);
  }

  /**
   * Forgets a connector's task statuses from `from` on (after its task count shrank).
   *
   * @param name Connector name.
   * @param from First task number to forget.
   */
  dropTasks(name: string, from = 0): void {
    const m = this.#tasks.get(name);
    if (!m) return;
    for (const k of [...m.keys()]) if (k >= from) m.delete(k);
  }

  /**
   * Forgets a connector.
   *
   * @param name Connector name.
   */
  remove(name: string): void {
    this.#connectors.delete(name);
    this.#tasks.delete(name);
  }
}

/**
 * Builds a status answer.
 *
 * @param name Connector name.
 * @param config Its configuration.
 * @param taskCount How many tasks it has.
 * @param statuses The status store.
 * @returns The answer.
 */
export function stateInfo(
  name: string,
  config: Record<string, string>,
  taskCount: number,
  statuses: StatusStore,
): ConnectorStateInfo {
  const unassigned: Status = { state: "UNASSIGNED", worker_id: "" };
  return {
    name,
    connector: statuses.connector(name) ?? unassigned,
    tasks: Array.from({ length: taskCount }, (_, id) => ({
      id,
      ...(statuses.task(name, id) ?? unassigned),
    })),
    type: typeOf(config),
  };
}

/** Runs every connector on the one worker; configurations live in memory (standalone mode). */
export class StandaloneHerder implements Herder {
  #worker!: Worker;
  #configs = new Map<string, Record<string, string>>();
  #taskConfigs = new Map<string, Record<string, string>[]>();
  #targets = new Map<string, TargetState>();
  /** Statuses reported by the worker. */
  readonly statuses: StatusStore = new StatusStore();
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * Attaches the worker (whose status listener is {@linkcode StandaloneHerder.onStatus}).
   *
   * @param worker The worker.
   */
  attach(worker: Worker): void {
    this.#worker = worker;
  }

  /** This worker's id. */
  get workerId(): string {
    return this.#worker.workerId;
  }

  /**
   * Records a status reported by the worker (ignored for deleted connectors).
   *
   * @param what Connector, and task for a task.
   * @param status The status.
   */
  onStatus = (what: { connector: string; task?: number }, status: Status): void => {
    if (this.#configs.has(what.connector)) this.statuses.put(what, status);
  };

  /** The cluster id seen by the client. */
  kafkaClusterId(): string | null {
    return this.#worker.client.clusterId;
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(f, f);
    this.#queue = run.catch(() => {});
    return run;
  }

  #config(name: string): Record<string, string> {
    const c = this.#configs.get(name);
    if (!c) throw notFound(name);
    return c;
  }

  /** Names, sorted. */
  connectors(): Promise<string[]> {
    return Promise.resolve([...this.#configs.keys()].sort());
  }

  /** Configuration and task ids. */
  connectorInfo(name: string): Promise<ConnectorInfo> {
    try {
      const config = this.#config(name);
      const n = this.#taskConfigs.get(name)?.length ?? 0;
      return Promise.resolve({
        name,
        config,
        tasks: Array.from({ length: n }, (_, task) => ({ connector: name, task })),
        type: typeOf(config),
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async #startAll(name: string): Promise<void> {
    const config = this.#configs.get(name)!;
    const target = this.#targets.get(name) ?? "STARTED";
    const ok = await this.#worker.startConnector(
      name,
      config,
      target,
      () => void this.#serial(() => this.#reconfigure(name)),
    );
    if (!ok) {
      this.#taskConfigs.set(name, []);
      return;
    }
    let tasks: Record<string, string>[];
    try {
      tasks = this.#worker.connectorTaskConfigs(name, config);
    } catch (e) {
      this.#worker.reportStatus(
        { connector: name },
        "FAILED",
        e instanceof Error ? e.stack : String(e),
      );
      this.#taskConfigs.set(name, []);
      return;
    }
    this.#taskConfigs.set(name, tasks);
    this.statuses.dropTasks(name, tasks.length);
    for (let task = 0; task < tasks.length; task++) {
      await this.#worker.startTask({ connector: name, task }, config, tasks[task], target);
    }
  }

  async #stopTasks(name: string): Promise<void> {
    const n = this.#taskConfigs.get(name)?.length ?? 0;
    await Promise.all(
      Array.from({ length: n }, (_, task) => this.#worker.stopTask({ connector: name, task })),
    );
  }

  async #reconfigure(name: string): Promise<void> {
    const config = this.#configs.get(name);
    if (!config) return;
    const tasks = this.#worker.connectorTaskConfigs(name, config);
    if (JSON.stringify(tasks) === JSON.stringify(this.#taskConfigs.get(name))) return;
    await this.#stopTasks(name);
    this.#taskConfigs.set(name, tasks);
    this.statuses.dropTasks(name, tasks.length);
    const target = this.#targets.get(name) ?? "STARTED";
    for (let task = 0; task < tasks.length; task++) {
      await this.#worker.startTask({ connector: name, task }, config, tasks[task], target);
    }
  }

  /** Validates, stores and (re)starts. */
  putConnectorConfig(
    name: string,
    config: Record<string, string>,
    allowReplace: boolean,
  ): Promise<{ created: boolean; info: ConnectorInfo }> {
    return this.#serial(async () => {
      const full = checkedConfig(name, config);
      const exists = this.#configs.has(name);
      if (exists && !allowReplace) {
        throw new ConnectRestError(409, `Connector ${name} already exists`);
      }
      if (exists) {
        await this.#stopTasks(name);
        await this.#worker.stopConnector(name);
      }
      this.#configs.set(name, full);
      if (!this.#targets.has(name)) this.#targets.set(name, "STARTED");
      await this.#startAll(name);
      return { created: !exists, info: await this.connectorInfo(name) };
    });
  }

  /** Stops and forgets. */
  deleteConnector(name: string): Promise<void> {
    return this.#serial(async () => {
      this.#config(name);
      await this.#stopTasks(name);
      await this.#worker.stopConnector(name);
      this.#configs.delete(name);
      this.#taskConfigs.delete(name);
      this.#targets.delete(name);
      this.statuses.remove(name);
    });
  }

  /** Reported statuses. */
  connectorStatus(name: string): Promise<ConnectorStateInfo> {
    try {
      const config = this.#config(name);
      return Promise.resolve(
        stateInfo(name, config, this.#taskConfigs.get(name)?.length ?? 0, this.statuses),
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Stored task configurations. */
  taskConfigs(name: string): Promise<Array<{ id: TaskId; config: Record<string, string> }>> {
    try {
      this.#config(name);
      return Promise.resolve(
        (this.#taskConfigs.get(name) ?? []).map((config, task) => ({
          id: { connector: name, task },
          config,
        })),
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #setTarget(name: string, target: TargetState): Promise<void> {
    return this.#serial(() => {
      this.#config(name);
      this.#targets.set(name, target);
      this.#worker.setConnectorTarget(name, target);
      const n = this.#taskConfigs.get(name)?.length ?? 0;
      for (let task = 0; task < n; task++) {
        this.#worker.setTaskTarget({ connector: name, task }, target);
      }
      return Promise.resolve();
    });
  }

  /** Pauses. */
  pauseConnector(name: string): Promise<void> {
    return this.#setTarget(name, "PAUSED");
  }

  /** Resumes. */
  resumeConnector(name: string): Promise<void> {
    return this.#setTarget(name, "STARTED");
  }

  /** Restarts the connector, and its (failed) tasks when asked. */
  restartConnector(name: string, options: RestartOptions): Promise<ConnectorStateInfo | null> {
    return this.#serial(async () => {
      const config = this.#config(name);
      const target = this.#targets.get(name) ?? "STARTED";
      const plain = !options.includeTasks && !options.onlyFailed;
      const failed = (s?: Status) => s?.state === "FAILED";
      const restartConnector = !options.onlyFailed || failed(this.statuses.connector(name));
      const n = this.#taskConfigs.get(name)?.length ?? 0;
      const tasks = options.includeTasks
        ? Array.from({ length: n }, (_, t) => t).filter((t) =>
          !options.onlyFailed || failed(this.statuses.task(name, t))
        )
        : [];
      for (const t of tasks) {
        this.statuses.put({ connector: name, task: t }, {
          state: "RESTARTING",
          worker_id: this.workerId,
        });
        await this.#worker.stopTask({ connector: name, task: t });
      }
      if (restartConnector) {
        await this.#worker.stopConnector(name);
        await this.#worker.startConnector(
          name,
          config,
          target,
          () => void this.#serial(() => this.#reconfigure(name)),
        );
      }
      const taskConfigs = this.#taskConfigs.get(name) ?? [];
      for (const t of tasks) {
        await this.#worker.startTask({ connector: name, task: t }, config, taskConfigs[t], target);
      }
      return plain ? null : stateInfo(name, config, n, this.statuses);
    });
  }

  /** Restarts one task. */
  restartTask(name: string, task: number): Promise<void> {
    return this.#serial(async () => {
      const config = this.#config(name);
      const taskConfigs = this.#taskConfigs.get(name) ?? [];
      if (!Number.isInteger(task) || task < 0 || task >= taskConfigs.length) {
        throw new ConnectRestError(404, `Task ${name}-${task} not found`);
      }
      await this.#worker.stopTask({ connector: name, task });
      await this.#worker.startTask(
        { connector: name, task },
        config,
        taskConfigs[task],
        this.#targets.get(name) ?? "STARTED",
      );
    });
  }

  /** Stops every connector and task. */
  stop(): Promise<void> {
    return this.#serial(() => this.#worker.stop());
  }
}
