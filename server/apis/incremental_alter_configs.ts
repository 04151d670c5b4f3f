// Copyright 2026 the Sluice authors. Apache-2.0 license.
// IncrementalAlterConfigs (key 44): served v0-v1 (flexible from v1).
// - TOPIC resources: operations SET (0), DELETE (1, back to the default), APPEND (2) and
//   SUBTRACT (3); APPEND/SUBTRACT only on list configs (else INVALID_CONFIG) and start from the
//   current effective value. A config named twice in one resource, a null value for SET/APPEND/
//   SUBTRACT or an unknown operation: INVALID_REQUEST. Values validated by the engine
//   (INVALID_CONFIG with the reason). Unknown topic: UNKNOWN_TOPIC_OR_PARTITION.
// - BROKER resources (name "" = cluster-wide default, or our node id): the same operations on
//   the dynamic broker configs (`../dynamic_configs.ts`), persisted and applied at once; a config
//   that cannot change at run time: INVALID_REQUEST.
// - CLIENT_METRICS resources (KIP-714, `../client_metrics.ts`): the same operations on a client
//   metrics subscription's metrics, interval.ms and match (lists: metrics, match), checked as
//   Kafka's ClientMetricsConfigs.validate (unknown config, interval outside 100..3600000:
//   INVALID_REQUEST; bad match pattern: INVALID_CONFIG), saved durably; deleting every config
//   deletes the subscription. Other resource types: INVALID_REQUEST.
// - validate_only checks without changing.
// - A resource listed more than once: INVALID_REQUEST "Duplicate resource" for each copy, nothing
//   changed (as Kafka's controller does).
// - ACLs (`../security/access.ts`): ALTER_CONFIGS on a TOPIC, else TOPIC_AUTHORIZATION_FAILED;
//   on the cluster for BROKER/BROKER_LOGGER/CLIENT_METRICS, else CLUSTER_AUTHORIZATION_FAILED. Nothing refused
//   changes.

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createIncrementalAlterConfigsResponse,
  createIncrementalAlterConfigsResponseAlterConfigsResourceResponse,
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from "../../protocol/messages/incremental_alter_configs.ts";
import { BROKER_TO_TOPIC_CONFIG, TOPIC_CONFIGS } from "../../engine/mod.ts";
import { type ApiHandler, clipMessage, defineApi, errorCodeOf, messageOf } from "../api.ts";
import {
  alterBrokerConfigs,
  alterClientMetrics,
  countResources,
  resourceKey,
  unsupportedResourceRefusal,
} from "./alter_configs.ts";
import { ResourceType } from "./describe_configs.ts";
import { ACCESS } from "../security/access.ts";
import { CLIENT_METRICS_CONFIGS } from "../client_metrics.ts";
import { clientMetricsLoading, configAccessError } from "./describe_configs.ts";

type Resource = IncrementalAlterConfigsRequest["resources"][number];

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

class Refused extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/**
 * The changes a resource asks for, as `set` and `remove`.
 *
 * @param res The resource.
 * @param current The effective value of a config (for APPEND/SUBTRACT).
 * @param isList Whether a config is a list (APPEND/SUBTRACT apply only to lists).
 */
function plan(
  res: Resource,
  current: (name: string) => string,
  isList: (name: string) => boolean,
): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  const seen = new Set<string>();
  for (const c of res.configs) {
    if (seen.has(c.name)) {
      throw new Refused(ErrorCode.INVALID_REQUEST, `Config ${c.name} is named twice`);
    }
    seen.add(c.name);
    if (c.configOperation === DELETE) {
      remove.push(c.name);
      continue;
    }
    if (
      c.configOperation !== SET && c.configOperation !== APPEND && c.configOperation !== SUBTRACT
    ) {
      throw new Refused(
        ErrorCode.INVALID_REQUEST,
        `Config ${c.name}: unknown operation ${c.configOperation}`,
      );
    }
    if (c.value === null) {
      throw new Refused(ErrorCode.INVALID_REQUEST, `Config ${c.name} has a null value`);
    }
    if (c.configOperation === SET) {
      set[c.name] = c.value;
      continue;
    }
    if (!isList(c.name)) {
      throw new Refused(
        ErrorCode.INVALID_CONFIG,
        `Config ${c.name}: APPEND and SUBTRACT only apply to list configs`,
      );
    }
    const now = current(c.name).split(",").filter((s) => s !== "");
    const items = c.value.split(",").map((s) => s.trim()).filter((s) => s !== "");
    const next = c.configOperation === APPEND
      ? [...now, ...items.filter((i) => !now.includes(i))]
      : now.filter((i) => !items.includes(i));
    set[c.name] = next.join(",");
  }
  return { set, remove };
}

/** IncrementalAlterConfigs handler. */
export const incrementalAlterConfigs: ApiHandler = defineApi<
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse
>({
  minVersion: 0,
  maxVersion: 1,
  request: IncrementalAlterConfigsRequest,
  response: IncrementalAlterConfigsResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
    await clientMetricsLoading(broker, req.resources);
    const responses = [];
    const copies = countResources(req.resources);
    for (const res of req.resources) {
      const result = (errorCode: number, errorMessage: string | null) =>
        createIncrementalAlterConfigsResponseAlterConfigsResourceResponse({
          errorCode,
          errorMessage: errorMessage === null ? null : clipMessage(errorMessage),
          resourceType: res.resourceType,
          resourceName: res.resourceName,
        });
      if (copies.get(resourceKey(res))! > 1) {
        responses.push(result(ErrorCode.INVALID_REQUEST, "Duplicate resource"));
        continue;
      }
      const denied = configAccessError(ctx, ACCESS.IncrementalAlterConfigs, res);
      if (denied !== 0) {
        responses.push(result(denied, null));
        continue;
      }
      const refusal = unsupportedResourceRefusal(res.resourceType);
      if (refusal !== null) {
        responses.push(result(...refusal));
        continue;
      }
      if (res.resourceType === ResourceType.CLIENT_METRICS) {
        let changes;
        try {
          const current = broker.clientMetrics?.subscriptions.get(res.resourceName) ?? {};
          changes = plan(
            res,
            (name) => current[name] ?? CLIENT_METRICS_CONFIGS.get(name)?.defaultValue ?? "",
            (name) => CLIENT_METRICS_CONFIGS.get(name)?.type === "list",
          );
        } catch (e) {
          responses.push(result(errorCodeOf(e), messageOf(e)));
          continue;
        }
        responses.push(result(
          ...await alterClientMetrics(ctx, res.resourceName, changes.set, changes.remove, {
            validateOnly: req.validateOnly,
          }),
        ));
        continue;
      }
      if (res.resourceType === ResourceType.BROKER) {
        let changes;
        try {
          const defaults = broker.logs.defaults;
          changes = plan(
            res,
            (name) => {
              const topicName = BROKER_TO_TOPIC_CONFIG.get(name) ?? "";
              return defaults[topicName] ?? TOPIC_CONFIGS.get(topicName)?.defaultValue ?? "";
            },
            (name) => TOPIC_CONFIGS.get(BROKER_TO_TOPIC_CONFIG.get(name) ?? "")?.type === "list",
          );
        } catch (e) {
          responses.push(result(errorCodeOf(e), messageOf(e)));
          continue;
        }
        responses.push(result(
          ...await alterBrokerConfigs(ctx, res.resourceName, changes.set, changes.remove, {
            validateOnly: req.validateOnly,
          }),
        ));
        continue;
      }
      // Cluster mode: topic configs live in etcd; every replica applies them.
      const topic = broker.cluster !== undefined
        ? broker.cluster.topicInfo(res.resourceName)
        : broker.logs.topic(res.resourceName);
      if (topic === undefined) {
        responses.push(result(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `Topic ${res.resourceName} does not exist`,
        ));
        continue;
      }
      try {
        const { set, remove } = plan(
          res,
          (name) => topic.effective[name] ?? "",
          (name) => TOPIC_CONFIGS.get(name)?.type === "list",
        );
        await (broker.cluster ?? broker.logs).alterTopicConfigs(res.resourceName, set, remove, {
          validateOnly: req.validateOnly,
        });
        if (!req.validateOnly) {
          broker.logger.info(
            `Altered configs of topic ${res.resourceName}: set ` +
              `[${Object.keys(set)}], removed [${remove}]`,
          );
        }
        responses.push(result(0, null));
      } catch (e) {
        responses.push(result(errorCodeOf(e), messageOf(e)));
      }
    }
    return createIncrementalAlterConfigsResponse({ responses });
  },
  errorResponse(req, errorCode, message) {
    return createIncrementalAlterConfigsResponse({
      responses: req.resources.map((r) =>
        createIncrementalAlterConfigsResponseAlterConfigsResourceResponse({
          errorCode,
          errorMessage: message,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
        })
      ),
    });
  },
});
