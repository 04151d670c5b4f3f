// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DescribeConfigs (key 32): served v0-v4.
// - Resource types: TOPIC (2) lists every topic config Kafka defines (engine `TOPIC_CONFIGS`)
//   with its effective value and source: TOPIC_CONFIG (1) for an override, STATIC_BROKER_CONFIG
//   (4) for a server.properties default, DYNAMIC_BROKER_CONFIG (2) / DYNAMIC_DEFAULT_BROKER_CONFIG
//   (3) for a dynamic broker config, DEFAULT_CONFIG (5) otherwise. BROKER (4) with our node id
//   lists the broker settings we honour (the dynamic log configs writable, the rest read-only);
//   BROKER "" lists the cluster-wide dynamic defaults that are set, as Kafka does.
//   CLIENT_METRICS (16) lists a client metrics subscription's metrics, interval.ms and match
//   (source CLIENT_METRICS_CONFIG 7 when set, else DEFAULT_CONFIG; `../client_metrics.ts`).
//   Other types (BROKER_LOGGER, ...) get INVALID_REQUEST; an unknown topic
//   UNKNOWN_TOPIC_OR_PARTITION; another broker's id INVALID_REQUEST.
// - configuration_keys filters (null = all). v0 is_default; v1+ config_source and synonyms (only
//   when include_synonyms: topic override, then broker setting, then Kafka default, as Kafka
//   orders them); v3+ config_type and documentation (only when include_documentation); v4
//   flexible.
// - ACLs (`../security/access.ts`): DESCRIBE_CONFIGS on a TOPIC, else TOPIC_AUTHORIZATION_FAILED;
//   on the cluster for BROKER/BROKER_LOGGER/CLIENT_METRICS, else CLUSTER_AUTHORIZATION_FAILED.

import { ErrorCode, errorInfo } from "../../protocol/errors.ts";
import {
  createDescribeConfigsResponse,
  createDescribeConfigsResponseResourceResult,
  createDescribeConfigsResponseResult,
  createDescribeConfigsResponseSynonym,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from "../../protocol/messages/describe_configs.ts";
import {
  BROKER_TO_TOPIC_CONFIG,
  type ConfigType,
  describeTopicConfigs,
  TOPIC_CONFIGS,
  type TopicInfo,
} from "../../engine/mod.ts";
import { DYNAMIC_BROKER_CONFIG_NAMES } from "../dynamic_configs.ts";
import { CLIENT_METRICS_CONFIGS } from "../client_metrics.ts";
import { DEFAULT_BROKER_CONFIG } from "../config.ts";
import {
  type ApiHandler,
  type BrokerContext,
  clipMessage,
  defineApi,
  type RequestContext,
} from "../api.ts";
import { ACCESS, type Access, authorize } from "../security/access.ts";

type ConfigEntry = DescribeConfigsResponse["results"][number]["configs"][number];

/** Kafka's `ConfigResource.Type` codes. */
export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, CLIENT_METRICS: 16 } as const;

/**
 * The ACL check of a config resource (Kafka's `ConfigAdminManager`): `access.topic` on a TOPIC,
 * `access.cluster` for BROKER, BROKER_LOGGER and CLIENT_METRICS resources.
 *
 * @param ctx The request.
 * @param access The API's checks (`ACCESS.DescribeConfigs`, `.AlterConfigs`, ...).
 * @param res The resource.
 * @returns TOPIC_/CLUSTER_AUTHORIZATION_FAILED when refused, else 0.
 */
export function configAccessError(
  ctx: RequestContext,
  access: { readonly topic: Access; readonly cluster: Access },
  res: { resourceType: number; resourceName: string },
): number {
  if (res.resourceType === ResourceType.TOPIC) {
    return authorize(ctx, access.topic, res.resourceName)
      ? 0
      : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  }
  if (
    res.resourceType === ResourceType.BROKER || res.resourceType === ResourceType.BROKER_LOGGER ||
    res.resourceType === ResourceType.CLIENT_METRICS
  ) {
    return authorize(ctx, access.cluster) ? 0 : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
  }
  return 0;
}

/** Kafka's `DescribeConfigsResponse.ConfigSource` codes. */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  CLIENT_METRICS_CONFIG: 7,
} as const;

const CONFIG_TYPE: Record<ConfigType, number> = {
  boolean: 1,
  string: 2,
  int: 3,
  long: 5,
  double: 6,
  list: 7,
};

/** One described config, before encoding. */
export interface DescribedConfig {
  /** Config name. */
  name: string;
  /** Effective value. */
  value: string;
  /** `ConfigSource` code. */
  source: number;
  /** Whether it cannot be altered. */
  readOnly: boolean;
  /** Kafka config type code. */
  type: number;
  /** Documentation. */
  doc: string;
  /** Synonyms, most specific first. */
  synonyms: { name: string; value: string; source: number }[];
}

/**
 * Every topic config of `topic` with value, source and synonyms.
 *
 * @param broker Broker state (for broker-level defaults).
 * @param topic The topic.
 * @returns The configs in name order.
 */
export function describeTopic(broker: BrokerContext, topic: TopicInfo): DescribedConfig[] {
  return describeTopicConfigs(topic.configs, broker.logs.defaults).map((e) => {
    const brokerName = e.def.brokerNames[0];
    const synonyms = [];
    if (e.source === "topic") {
      synonyms.push({ name: e.name, value: e.value, source: ConfigSource.TOPIC_CONFIG });
    }
    const layers = brokerLayers(broker, e.name);
    for (const l of layers) synonyms.push(l);
    synonyms.push({
      name: brokerName ?? e.name,
      value: e.def.defaultValue,
      source: ConfigSource.DEFAULT_CONFIG,
    });
    return {
      name: e.name,
      value: e.value,
      source: e.source === "topic"
        ? ConfigSource.TOPIC_CONFIG
        : layers[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
      readOnly: false,
      type: CONFIG_TYPE[e.def.type],
      doc: e.def.doc,
      synonyms,
    };
  });
}

/**
 * The broker-level layers setting a topic config's default, most specific first: dynamic for
 * this broker, dynamic cluster default, then server.properties.
 */
function brokerLayers(
  broker: BrokerContext,
  topicConfig: string,
): { name: string; value: string; source: number }[] {
  const SOURCE = {
    "dynamic-broker": ConfigSource.DYNAMIC_BROKER_CONFIG,
    "dynamic-default": ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
    "static": ConfigSource.STATIC_BROKER_CONFIG,
  } as const;
  if (broker.dynamicConfigs !== undefined) {
    return broker.dynamicConfigs.layers(topicConfig).map((l) => ({
      name: l.name,
      value: l.value,
      source: SOURCE[l.source],
    }));
  }
  const name = TOPIC_CONFIGS.get(topicConfig)?.brokerNames[0];
  const value = broker.config.topicDefaults[topicConfig];
  return name === undefined || value === undefined
    ? []
    : [{ name, value, source: ConfigSource.STATIC_BROKER_CONFIG }];
}

/**
 * A client metrics subscription's three configs (`metrics`, `interval.ms`, `match`): those set
 * with source CLIENT_METRICS_CONFIG, the others with their defaults (DEFAULT_CONFIG), as Kafka
 * lists them (an unknown name: every config at its default).
 */
function describeClientMetrics(broker: BrokerContext, name: string): DescribedConfig[] {
  const set = broker.clientMetrics?.subscriptions.get(name) ?? {};
  return [...CLIENT_METRICS_CONFIGS].sort(([a], [b]) => a < b ? -1 : 1).map(([key, def]) => {
    const value = set[key];
    const source = value === undefined
      ? ConfigSource.DEFAULT_CONFIG
      : ConfigSource.CLIENT_METRICS_CONFIG;
    return {
      name: key,
      value: value ?? def.defaultValue,
      source,
      readOnly: false,
      type: CONFIG_TYPE[def.type],
      doc: def.doc,
      synonyms: [{ name: key, value: value ?? def.defaultValue, source }],
    };
  });
}

/** The connection limits' broker settings: the config field, Kafka's default, type and doc. */
const CONNECTION_CONFIGS: ReadonlyMap<string, {
  field:
    | "maxConnections"
    | "maxConnectionsPerIp"
    | "maxConnectionsPerIpOverrides"
    | "maxConnectionCreationRate";
  defaultValue: string;
  type: number;
  doc: string;
}> = new Map([
  ["max.connection.creation.rate", {
    field: "maxConnectionCreationRate",
    defaultValue: "2147483647",
    type: CONFIG_TYPE.int,
    doc: "The maximum connection creation rate the broker allows on a listener at any time " +
      "(KIP-612); the inter-broker listener is exempt when there are others.",
  }],
  ["max.connections", {
    field: "maxConnections",
    defaultValue: "2147483647",
    type: CONFIG_TYPE.int,
    doc: "The maximum number of connections the broker allows at any time.",
  }],
  ["max.connections.per.ip", {
    field: "maxConnectionsPerIp",
    defaultValue: "2147483647",
    type: CONFIG_TYPE.int,
    doc: "The maximum number of connections the broker allows from each ip address.",
  }],
  ["max.connections.per.ip.overrides", {
    field: "maxConnectionsPerIpOverrides",
    defaultValue: "",
    type: CONFIG_TYPE.string,
    doc: "A comma-separated list of per-ip or hostname overrides to the default maximum " +
      'number of connections, e.g. "hostName:100,127.0.0.1:200".',
  }],
]);

/** The cluster-wide dynamic defaults (a BROKER resource named ""), as Kafka lists them. */
function describeDynamicDefaults(broker: BrokerContext): DescribedConfig[] {
  const values = broker.dynamicConfigs?.values("default") ?? {};
  return Object.entries(values).sort(([a], [b]) => a < b ? -1 : 1).map(([name, value]) => {
    const def = TOPIC_CONFIGS.get(BROKER_TO_TOPIC_CONFIG.get(name) ?? "");
    const conn = CONNECTION_CONFIGS.get(name);
    return {
      name,
      value,
      source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
      readOnly: false,
      type: def ? CONFIG_TYPE[def.type] : conn?.type ?? CONFIG_TYPE.string,
      doc: def?.doc ?? conn?.doc ?? "",
      synonyms: [{ name, value, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG }],
    };
  });
}

function describeBroker(broker: BrokerContext): DescribedConfig[] {
  const c = broker.config;
  const out: DescribedConfig[] = [];
  const add = (name: string, value: string, isDefault: boolean, type: number, doc: string) =>
    out.push({
      name,
      value,
      source: isDefault ? ConfigSource.DEFAULT_CONFIG : ConfigSource.STATIC_BROKER_CONFIG,
      readOnly: true,
      type,
      doc,
      synonyms: [],
    });
  add("node.id", String(c.nodeId), false, CONFIG_TYPE.int, "This broker's node id.");
  add("broker.id", String(c.nodeId), false, CONFIG_TYPE.int, "Alias of node.id.");
  add("listeners", c.listeners, false, CONFIG_TYPE.string, "Where the broker listens.");
  add(
    "advertised.listeners",
    c.advertisedListeners ??
      (broker.advertisedListeners === undefined
        ? `PLAINTEXT://${broker.advertised.host}:${broker.advertised.port}`
        : [...broker.advertisedListeners].map(([n, a]) => `${n}://${a.host}:${a.port}`).join(",")),
    c.advertisedListeners === undefined,
    CONFIG_TYPE.string,
    "What clients are told to connect to.",
  );
  add(
    "listener.security.protocol.map",
    c.listenerSecurityProtocolMap ?? "",
    c.listenerSecurityProtocolMap === DEFAULT_BROKER_CONFIG.listenerSecurityProtocolMap,
    CONFIG_TYPE.string,
    "Security protocol of each listener name.",
  );
  add("log.dirs", c.logDirs.join(","), false, CONFIG_TYPE.string, "Data directories.");
  add(
    "num.partitions",
    String(c.numPartitions),
    c.numPartitions === 1,
    CONFIG_TYPE.int,
    "Partitions of auto-created topics.",
  );
  add(
    "auto.create.topics.enable",
    String(c.autoCreateTopicsEnable),
    c.autoCreateTopicsEnable,
    CONFIG_TYPE.boolean,
    "Create unknown topics on metadata requests.",
  );
  add(
    "socket.request.max.bytes",
    String(c.socketRequestMaxBytes),
    c.socketRequestMaxBytes === 104857600,
    CONFIG_TYPE.int,
    "Largest request accepted.",
  );
  add(
    "default.replication.factor",
    String(c.defaultReplicationFactor),
    c.defaultReplicationFactor === 1,
    CONFIG_TYPE.int,
    "Replication factor of auto-created topics.",
  );
  add(
    "log.retention.check.interval.ms",
    String(c.logRetentionCheckIntervalMs),
    c.logRetentionCheckIntervalMs === 300000,
    CONFIG_TYPE.long,
    "How often retention runs.",
  );
  add(
    "max.incremental.fetch.session.cache.slots",
    String(c.maxIncrementalFetchSessionCacheSlots),
    c.maxIncrementalFetchSessionCacheSlots === 1000,
    CONFIG_TYPE.int,
    "Most incremental fetch sessions kept.",
  );
  // The connection limits (`../connection_quotas.ts`), dynamic as in Kafka: this broker's
  // dynamic value, then the cluster default's, then the static setting, then Kafka's default
  const dyn = {
    broker: broker.dynamicConfigs?.values("broker") ?? {},
    default: broker.dynamicConfigs?.values("default") ?? {},
  };
  for (const [name, def] of CONNECTION_CONFIGS) {
    const staticValue = String(c[def.field]);
    const layers: { name: string; value: string; source: number }[] = [];
    if (dyn.broker[name] !== undefined) {
      layers.push({ name, value: dyn.broker[name], source: ConfigSource.DYNAMIC_BROKER_CONFIG });
    }
    if (dyn.default[name] !== undefined) {
      layers.push({
        name,
        value: dyn.default[name],
        source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
      });
    }
    if (staticValue !== def.defaultValue) {
      layers.push({ name, value: staticValue, source: ConfigSource.STATIC_BROKER_CONFIG });
    }
    out.push({
      name,
      value: layers[0]?.value ?? def.defaultValue,
      source: layers[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
      readOnly: false,
      type: def.type,
      doc: def.doc,
      synonyms: [...layers, { name, value: def.defaultValue, source: ConfigSource.DEFAULT_CONFIG }],
    });
  }
  // Broker-level topic defaults under their broker names (e.g. log.retention.ms): dynamic ones
  // can be altered (AlterConfigs on this BROKER resource or the cluster default "").
  for (const e of describeTopicConfigs({}, broker.logs.defaults)) {
    const name = e.def.brokerNames[0];
    if (name === undefined || out.some((o) => o.name === name)) continue;
    const layers = brokerLayers(broker, e.name);
    out.push({
      name,
      value: e.value,
      source: layers[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
      readOnly: !DYNAMIC_BROKER_CONFIG_NAMES.has(name),
      type: CONFIG_TYPE[e.def.type],
      doc: e.def.doc,
      synonyms: [
        ...layers,
        { name, value: e.def.defaultValue, source: ConfigSource.DEFAULT_CONFIG },
      ],
    });
  }
  return out.sort((a, b) => a.name < b.name ? -1 : 1);
}

function encodeEntry(
  d: DescribedConfig,
  version: number,
  includeSynonyms: boolean,
  includeDocs: boolean,
): ConfigEntry {
  return createDescribeConfigsResponseResourceResult({
    name: d.name,
    value: d.value,
    readOnly: d.readOnly,
    isDefault: version === 0 && d.source === ConfigSource.DEFAULT_CONFIG, // v0 only
    configSource: d.source,
    isSensitive: false,
    synonyms: includeSynonyms ? d.synonyms.map((s) => createDescribeConfigsResponseSynonym(s)) : [],
    configType: d.type,
    documentation: includeDocs ? d.doc : null,
  });
}

/**
 * Opens the broker's client metrics (KIP-714, opened at first use: issue #17) when `resources`
 * name a CLIENT_METRICS resource and they are not open yet.
 *
 * @param broker The broker.
 * @param resources The request's resources.
 * @returns Resolves once they are open; `undefined` when there is nothing to wait for.
 */
export function clientMetricsLoading(
  broker: BrokerContext,
  resources: readonly { resourceType: number }[],
): Promise<void> | undefined {
  if (broker.clientMetrics !== undefined || broker.loadPart === undefined) return undefined;
  if (!resources.some((r) => r.resourceType === ResourceType.CLIENT_METRICS)) return undefined;
  return broker.loadPart("clientMetrics");
}

/** DescribeConfigs handler. */
export const describeConfigs: ApiHandler = defineApi<
  DescribeConfigsRequest,
  DescribeConfigsResponse
>({
  minVersion: 0,
  maxVersion: 4,
  request: DescribeConfigsRequest,
  response: DescribeConfigsResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
    await clientMetricsLoading(broker, req.resources);
    const results = req.resources.map((res) => {
      const base = { resourceType: res.resourceType, resourceName: res.resourceName };
      const fail = (errorCode: number, errorMessage: string) =>
        createDescribeConfigsResponseResult({
          ...base,
          errorCode,
          errorMessage: clipMessage(errorMessage),
          configs: [],
        });
      const denied = configAccessError(ctx, ACCESS.DescribeConfigs, res);
      if (denied !== 0) return fail(denied, errorInfo(denied)!.message);
      let described: DescribedConfig[];
      if (res.resourceType === ResourceType.TOPIC) {
        // Cluster mode: any topic of the cluster, held here or not.
        const topic = broker.cluster !== undefined
          ? broker.cluster.topicInfo(res.resourceName)
          : broker.logs.topic(res.resourceName);
        if (topic === undefined) {
          return fail(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            `Topic ${res.resourceName} does not exist`,
          );
        }
        described = describeTopic(broker, topic);
      } else if (res.resourceType === ResourceType.BROKER) {
        if (res.resourceName === "") described = describeDynamicDefaults(broker);
        else if (res.resourceName !== String(broker.nodeId)) {
          return fail(
            ErrorCode.INVALID_REQUEST,
            `Broker ${res.resourceName} is not this broker (node ${broker.nodeId})`,
          );
        } else described = describeBroker(broker);
      } else if (res.resourceType === ResourceType.CLIENT_METRICS) {
        if (broker.clientMetrics === undefined) {
          return fail(ErrorCode.INVALID_REQUEST, "This broker has no client metrics");
        }
        described = describeClientMetrics(broker, res.resourceName);
      } else {
        return fail(
          ErrorCode.INVALID_REQUEST,
          `Resource type ${res.resourceType} is not supported (only TOPIC 2, BROKER 4 and ` +
            "CLIENT_METRICS 16)",
        );
      }
      if (res.configurationKeys !== null) {
        const wanted = new Set(res.configurationKeys);
        described = described.filter((d) => wanted.has(d.name));
      }
      return createDescribeConfigsResponseResult({
        ...base,
        errorCode: 0,
        errorMessage: null,
        configs: described.map((d) =>
          encodeEntry(d, ctx.version, req.includeSynonyms, req.includeDocumentation)
        ),
      });
    });
    return createDescribeConfigsResponse({ results });
  },
  errorResponse(req, errorCode, message) {
    return createDescribeConfigsResponse({
      results: req.resources.map((r) =>
        createDescribeConfigsResponseResult({
          errorCode,
          errorMessage: message,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          configs: [],
        })
      ),
    });
  },
});
