// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Dynamic broker configs: the broker settings Kafka lets AlterConfigs and IncrementalAlterConfigs
 * change at run time, per broker (resource name = the node id) and as the cluster-wide default
 * (resource name ""). Sluice serves Kafka's dynamic log configs (`DynamicLogConfig`): the broker
 * names of the topic configs (`log.retention.ms`, `log.segment.bytes`, `message.max.bytes`,
 * `log.cleanup.policy`, ...), which are the defaults of every topic without its own override.
 *
 * The connection limits (`max.connections`, `max.connections.per.ip`,
 * `max.connections.per.ip.overrides`, `connection_quotas.ts`) are dynamic too, as in Kafka.
 *
 * Precedence, as Kafka's: a topic override, then the per-broker dynamic value, then the dynamic
 * cluster default, then `server.properties`, then Kafka's default. The dynamic values are kept in
 * `sluice-dynamic-configs.json` in the data directory (written atomically), so they survive a
 * restart, as Kafka keeps them in its metadata log.
 *
 * @module
 */

import {
  BROKER_TO_TOPIC_CONFIG,
  brokerConfigsToTopicDefaults,
  TOPIC_CONFIGS,
  writeFileAtomic,
} from "../engine/mod.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { CONNECTION_CONFIG_NAMES, validateConnectionConfig } from "./connection_quotas.ts";

/** File in the data directory holding the dynamic broker configs. */
export const DYNAMIC_CONFIGS_FILE = "sluice-dynamic-configs.json";

/** Where a dynamic broker config applies. */
export type DynamicScope = "broker" | "default";

/**
 * The broker config names that can be changed at run time: the primary broker name of every
 * topic config (Kafka's `DynamicLogConfig.ReconfigurableConfigs`), except the deprecated
 * `log.message.format.version`.
 */
export const DYNAMIC_BROKER_CONFIG_NAMES: ReadonlySet<string> = new Set(
  [...TOPIC_CONFIGS.values()]
    .map((d) => d.brokerNames[0])
    .filter((n): n is string => n !== undefined && n !== "log.message.format.version"),
);

/** One layer that sets a broker-level value, most specific first. */
export interface BrokerConfigLayer {
  /** Broker config name. */
  name: string;
  /** Value as stored. */
  value: string;
  /** Which layer. */
  source: "dynamic-broker" | "dynamic-default" | "static";
}

interface StoredDynamicConfigs {
  version: 1;
  default: Record<string, string>;
  brokers: Record<string, Record<string, string>>;
}

/**
 * The dynamic broker configs of one broker, loaded from and saved to its data directory.
 *
 * @example
 * ```ts
 * import { DynamicBrokerConfigs } from "./dynamic_configs.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const dyn = await DynamicBrokerConfigs.open(dir, 1, { "retention.ms": "1000" });
 * await dyn.alter("default", { "log.retention.ms": "60000" }, []);
 * console.assert(dyn.topicDefaults()["retention.ms"] === "60000");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class DynamicBrokerConfigs {
  readonly #path: string;
  readonly #nodeId: number;
  readonly #static: Readonly<Record<string, string>>;
  #stored: StoredDynamicConfigs;

  private constructor(
    path: string,
    nodeId: number,
    staticDefaults: Record<string, string>,
    stored: StoredDynamicConfigs,
  ) {
    this.#path = path;
    this.#nodeId = nodeId;
    this.#static = { ...staticDefaults };
    this.#stored = stored;
  }

  /**
   * Loads the dynamic configs of a data directory (none if the file does not exist).
   * Requires `--allow-read`.
   *
   * @param dir The data directory (locked by the caller).
   * @param nodeId This broker's node id.
   * @param staticDefaults Topic defaults from `server.properties`, by topic config name.
   * @returns The configs.
   * @throws {Error} If the file exists but cannot be read or holds invalid values.
   */
  static async open(
    dir: string,
    nodeId: number,
    staticDefaults: Record<string, string>,
  ): Promise<DynamicBrokerConfigs> {
    const path = `${dir}/${DYNAMIC_CONFIGS_FILE}`;
    let stored: StoredDynamicConfigs = { version: 1, default: {}, brokers: {} };
    try {
      const parsed = JSON.parse(await Deno.readTextFile(path));
      if (parsed?.version !== 1 || typeof parsed.default !== "object") {
        throw new Error(`unsupported version ${parsed?.version}`);
      }
      stored = { version: 1, default: parsed.default ?? {}, brokers: parsed.brokers ?? {} };
      brokerConfigsToTopicDefaults(stored.default);
      for (const b of Object.values(stored.brokers)) brokerConfigsToTopicDefaults(b);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new Error(`cannot read ${path}: ${e instanceof Error ? e.message : e}`);
      }
    }
    return new DynamicBrokerConfigs(path, nodeId, staticDefaults, stored);
  }

  /** The dynamic values of one scope, by broker config name. */
  values(scope: DynamicScope): Record<string, string> {
    return { ...(scope === "default" ? this.#stored.default : this.#mine()) };
  }

  /**
   * The dynamic connection limits: this broker's values over the cluster default.
   *
   * @returns Broker config name -> value, of {@linkcode CONNECTION_CONFIG_NAMES} only.
   */
  connectionValues(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const layer of [this.#stored.default, this.#mine()]) {
      for (const [k, v] of Object.entries(layer)) if (CONNECTION_CONFIG_NAMES.has(k)) out[k] = v;
    }
    return out;
  }

  #mine(): Record<string, string> {
    return this.#stored.brokers[String(this.#nodeId)] ?? {};
  }

  /**
   * The defaults every topic without an override uses, by topic config name: `server.properties`
   * overlaid with the dynamic cluster default, then this broker's dynamic values.
   *
   * @returns Topic config name -> value.
   */
  topicDefaults(): Record<string, string> {
    return {
      ...this.#static,
      ...brokerConfigsToTopicDefaults(this.#stored.default),
      ...brokerConfigsToTopicDefaults(this.#mine()),
    };
  }

  /**
   * The layers that set the broker-level default of a topic config, most specific first (what
   * DescribeConfigs reports as synonyms).
   *
   * @param topicConfig Topic config name, e.g. `retention.ms`.
   * @returns The layers (empty when only Kafka's default applies).
   */
  layers(topicConfig: string): BrokerConfigLayer[] {
    const def = TOPIC_CONFIGS.get(topicConfig);
    const name = def?.brokerNames[0];
    if (def === undefined || name === undefined) return [];
    const out: BrokerConfigLayer[] = [];
    const mine = this.#mine()[name];
    if (mine !== undefined) out.push({ name, value: mine, source: "dynamic-broker" });
    const dflt = this.#stored.default[name];
    if (dflt !== undefined) out.push({ name, value: dflt, source: "dynamic-default" });
    const stat = this.#static[topicConfig];
    if (stat !== undefined) out.push({ name, value: stat, source: "static" });
    return out;
  }

  /**
   * Changes the dynamic configs of one scope and saves them (atomically) before they apply.
   * Requires `--allow-write`.
   *
   * @param scope This broker, or the cluster-wide default.
   * @param set Broker config name -> new value.
   * @param remove Names to remove (back to the next layer).
   * @param options `replace`: `set` becomes the scope's complete set (legacy AlterConfigs);
   * `validateOnly`: check, change nothing; `checkConnections`: refuse (by throwing) connection
   * limits that do not hold together, given the values they would have.
   * @throws {KafkaError} INVALID_REQUEST for a config that cannot change at run time (Kafka's
   * answer), INVALID_CONFIG for a bad value.
   */
  async alter(
    scope: DynamicScope,
    set: Record<string, string>,
    remove: string[],
    options: {
      replace?: boolean;
      validateOnly?: boolean;
      checkConnections?: (values: Record<string, string>) => void;
    } = {},
  ): Promise<void> {
    const names = [...Object.keys(set), ...remove];
    const fixed = names.filter((n) =>
      !DYNAMIC_BROKER_CONFIG_NAMES.has(n) && !CONNECTION_CONFIG_NAMES.has(n)
    );
    if (fixed.length > 0) {
      const unknown = fixed.filter((n) => !BROKER_TO_TOPIC_CONFIG.has(n));
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        `Cannot update these configs dynamically: ${fixed.join(", ")}` +
          (unknown.length === fixed.length
            ? " (only the log configs, such as log.retention.ms, and the connection limits are " +
              "dynamic)"
            : ""),
      );
    }
    const next: Record<string, string> = options.replace
      ? {}
      : { ...(scope === "default" ? this.#stored.default : this.#mine()) };
    for (const n of remove) delete next[n];
    for (const [k, v] of Object.entries(set)) next[k] = v;
    try {
      // normalised as the topic config it sets (units, ranges, lists)
      const topicValues = brokerConfigsToTopicDefaults(next);
      for (const k of Object.keys(next)) {
        if (CONNECTION_CONFIG_NAMES.has(k)) {
          next[k] = validateConnectionConfig(k, next[k]);
          continue;
        }
        const topicName = BROKER_TO_TOPIC_CONFIG.get(k)!;
        next[k] = topicValues[topicName];
      }
      if (options.checkConnections !== undefined) {
        const layers = scope === "default" ? [next, this.#mine()] : [this.#stored.default, next];
        const values: Record<string, string> = {};
        for (const layer of layers) {
          for (const [k, v] of Object.entries(layer)) {
            if (CONNECTION_CONFIG_NAMES.has(k)) values[k] = v;
          }
        }
        options.checkConnections(values);
      }
    } catch (e) {
      throw new KafkaError(ErrorCode.INVALID_CONFIG, e instanceof Error ? e.message : String(e));
    }
    if (options.validateOnly) return;
    const stored: StoredDynamicConfigs = {
      version: 1,
      default: scope === "default" ? next : { ...this.#stored.default },
      brokers: { ...this.#stored.brokers },
    };
    if (scope === "broker") stored.brokers[String(this.#nodeId)] = next;
    await writeFileAtomic(
      this.#path,
      new TextEncoder().encode(JSON.stringify(stored, null, 2) + "\n"),
    );
    this.#stored = stored;
  }
}
