// Copyright 2026 the Sluice authors. Apache-2.0 license.
// AlterConfigs (key 33): served v0-v2 (flexible from v2). Legacy, non-incremental.
// - TOPIC resources: the given configs become the topic's complete set of overrides (anything
//   not listed returns to its default), validated by the engine (INVALID_CONFIG with the
//   reason); a null value is INVALID_REQUEST; unknown topic UNKNOWN_TOPIC_OR_PARTITION.
// - BROKER resources (name "" = cluster-wide default, or our node id): the dynamic broker configs
//   (`../dynamic_configs.ts`: the log configs, e.g. log.retention.ms, and the connection limits,
//   max.connections and max.connections.per.ip[.overrides]) become that scope's complete
//   set, persisted, and apply at once to every topic without an override. A config that cannot
//   change at run time (listeners, ...): INVALID_REQUEST; another broker's id: INVALID_REQUEST.
//   Other resource types: INVALID_REQUEST.
// - validate_only checks without changing.
// - A resource listed more than once: INVALID_REQUEST "Duplicate resource" for each copy, nothing
//   changed (as Kafka's controller does).
// - ACLs (`../security/access.ts`): ALTER_CONFIGS on a TOPIC, else TOPIC_AUTHORIZATION_FAILED;
//   on the cluster for BROKER/BROKER_LOGGER, else CLUSTER_AUTHORIZATION_FAILED. Nothing refused
//   changes.

import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import {
  AlterConfigsRequest,
  AlterConfigsResponse,
  createAlterConfigsResponse,
  createAlterConfigsResponseResourceResponse,
} from "../../protocol/messages/alter_configs.ts";
import {
  type ApiHandler,
  clipMessage,
  defineApi,
  errorCodeOf,
  messageOf,
  type RequestContext,
} from "../api.ts";
import { ResourceType } from "./describe_configs.ts";
import { ACCESS } from "../security/access.ts";
import { clientMetricsLoading, configAccessError } from "./describe_configs.ts";
import { connectionLimits } from "../connection_quotas.ts";

/**
 * The refusal for altering a resource that is neither a topic, a broker nor a client metrics
 * subscription, or null.
 *
 * @param type The resource type.
 * @returns `[errorCode, message]` or null.
 */
export function unsupportedResourceRefusal(type: number): [number, string] | null {
  if (
    type === ResourceType.TOPIC || type === ResourceType.BROKER ||
    type === ResourceType.CLIENT_METRICS
  ) return null;
  return [
    ErrorCode.INVALID_REQUEST,
    `Resource type ${type} cannot be altered (only TOPIC 2, BROKER 4 and CLIENT_METRICS 16)`,
  ];
}

/**
 * Changes a client metrics subscription (a CLIENT_METRICS resource, KIP-714): checked as Kafka's
 * `ClientMetricsConfigs.validate`, saved durably; one left without configs is deleted.
 *
 * @param ctx The request.
 * @param name The subscription's name.
 * @param set Configs to set.
 * @param remove Configs to reset.
 * @param options `replace` (legacy AlterConfigs), `validateOnly`.
 * @returns `[errorCode, errorMessage]` for the resource's result.
 */
export async function alterClientMetrics(
  ctx: RequestContext,
  name: string,
  set: Record<string, string>,
  remove: string[],
  options: { replace?: boolean; validateOnly?: boolean },
): Promise<[number, string | null]> {
  const cm = ctx.broker.clientMetrics;
  if (cm === undefined) return [ErrorCode.INVALID_REQUEST, "This broker has no client metrics"];
  try {
    await cm.subscriptions.alter(name, set, remove, options);
  } catch (e) {
    return [errorCodeOf(e), e instanceof KafkaError ? clipMessage(e.reason) : messageOf(e)];
  }
  if (!options.validateOnly) {
    ctx.broker.logger.info(
      `Altered client metrics subscription ${name}: set [${Object.keys(set)}], removed [${remove}]`,
    );
  }
  return [0, null];
}

/**
 * Changes dynamic broker configs (a BROKER resource) and applies them to the live topics.
 *
 * @param ctx The request.
 * @param resourceName "" for the cluster-wide default, else this broker's node id.
 * @param set Broker config name → value.
 * @param remove Names to reset.
 * @param options `replace` (legacy AlterConfigs), `validateOnly`.
 * @returns `[errorCode, errorMessage]` for the resource's result.
 */
export async function alterBrokerConfigs(
  ctx: RequestContext,
  resourceName: string,
  set: Record<string, string>,
  remove: string[],
  options: { replace?: boolean; validateOnly?: boolean },
): Promise<[number, string | null]> {
  const broker = ctx.broker;
  const dyn = broker.dynamicConfigs;
  if (dyn === undefined) {
    return [ErrorCode.INVALID_REQUEST, "This broker has no dynamic broker configs"];
  }
  if (resourceName !== "" && resourceName !== String(broker.nodeId)) {
    return [
      ErrorCode.INVALID_REQUEST,
      `Broker ${resourceName} is not this broker (node ${broker.nodeId})`,
    ];
  }
  const scope = resourceName === "" ? "default" : "broker";
  try {
    await dyn.alter(scope, set, remove, {
      ...options,
      checkConnections: (values) => connectionLimits(broker.config, values),
    });
    if (!options.validateOnly) {
      broker.logs.setDefaults(dyn.topicDefaults());
      // the connection limits apply to the next connection (`../connection_quotas.ts`)
      broker.connectionQuotas?.configure(connectionLimits(broker.config, dyn.connectionValues()));
      broker.logger.info(
        `Altered dynamic broker configs (${
          scope === "default" ? "cluster default" : "broker " +
            broker.nodeId
        }): set [${Object.keys(set)}], removed [${remove}]` +
          (options.replace ? " (replacing the rest)" : ""),
      );
    }
    return [0, null];
  } catch (e) {
    return [errorCodeOf(e), messageOf(e)];
  }
}

/**
 * The key of a config resource: its type and name.
 *
 * @param r The resource.
 * @returns `"<type> <name>"`.
 */
export function resourceKey(r: { resourceType: number; resourceName: string }): string {
  return `${r.resourceType} ${r.resourceName}`;
}

/**
 * How many times each resource is listed.
 *
 * @param resources The request's resources.
 * @returns {@linkcode resourceKey} → count.
 */
export function countResources(
  resources: ReadonlyArray<{ resourceType: number; resourceName: string }>,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(resourceKey(r), (counts.get(resourceKey(r)) ?? 0) + 1);
  return counts;
}

/** AlterConfigs handler. */
export const alterConfigs: ApiHandler = defineApi<AlterConfigsRequest, AlterConfigsResponse>({
  minVersion: 0,
  maxVersion: 2,
  request: AlterConfigsRequest,
  response: AlterConfigsResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
    await clientMetricsLoading(broker, req.resources);
    const responses = [];
    const copies = countResources(req.resources);
    for (const res of req.resources) {
      const result = (errorCode: number, errorMessage: string | null) =>
        createAlterConfigsResponseResourceResponse({
          errorCode,
          errorMessage: errorMessage === null ? null : clipMessage(errorMessage),
          resourceType: res.resourceType,
          resourceName: res.resourceName,
        });
      if (copies.get(resourceKey(res))! > 1) {
        responses.push(result(ErrorCode.INVALID_REQUEST, "Duplicate resource"));
        continue;
      }
      const denied = configAccessError(ctx, ACCESS.AlterConfigs, res);
      if (denied !== 0) {
        responses.push(result(denied, null));
        continue;
      }
      const refusal = unsupportedResourceRefusal(res.resourceType);
      if (refusal !== null) {
        responses.push(result(...refusal));
        continue;
      }
      const set: Record<string, string> = {};
      const nullValue = res.configs.find((c) => c.value === null);
      if (nullValue !== undefined) {
        responses.push(
          result(ErrorCode.INVALID_REQUEST, `Config ${nullValue.name} has a null value`),
        );
        continue;
      }
      for (const c of res.configs) set[c.name] = c.value!;
      if (res.resourceType === ResourceType.CLIENT_METRICS) {
        responses.push(result(
          ...await alterClientMetrics(ctx, res.resourceName, set, [], {
            replace: true,
            validateOnly: req.validateOnly,
          }),
        ));
        continue;
      }
      if (res.resourceType === ResourceType.BROKER) {
        responses.push(result(
          ...await alterBrokerConfigs(ctx, res.resourceName, set, [], {
            replace: true,
            validateOnly: req.validateOnly,
          }),
        ));
        continue;
      }
      try {
        // Cluster mode: topic configs live in etcd; every replica applies them.
        await (broker.cluster ?? broker.logs).alterTopicConfigs(res.resourceName, set, [], {
          replace: true,
          validateOnly: req.validateOnly,
        });
        if (!req.validateOnly) {
          broker.logger.info(`Replaced configs of topic ${res.resourceName}`);
        }
        responses.push(result(0, null));
      } catch (e) {
        responses.push(result(errorCodeOf(e), messageOf(e)));
      }
    }
    return createAlterConfigsResponse({ responses });
  },
  errorResponse(req, errorCode, message) {
    return createAlterConfigsResponse({
      responses: req.resources.map((r) =>
        createAlterConfigsResponseResourceResponse({
          errorCode,
          errorMessage: message,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
        })
      ),
    });
  },
});
