// Copyright 2026 the Sluice authors. Apache-2.0 license.
// ListClientMetricsResources (key 74, KIP-714): served v0: the names of the client metrics
// subscriptions (CLIENT_METRICS config resources, `../client_metrics.ts`), sorted. Needs
// DESCRIBE_CONFIGS on the cluster with an authorizer (CLUSTER_AUTHORIZATION_FAILED), as Kafka.

import {
  createListClientMetricsResourcesResponse,
  createListClientMetricsResourcesResponseClientMetricsResource,
  ListClientMetricsResourcesRequest,
  ListClientMetricsResourcesResponse,
} from "../../protocol/messages/list_client_metrics_resources.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** ListClientMetricsResources handler. */
export const listClientMetricsResources: ApiHandler = defineApi<
  ListClientMetricsResourcesRequest,
  ListClientMetricsResourcesResponse
>({
  minVersion: 0,
  maxVersion: 0,
  request: ListClientMetricsResourcesRequest,
  response: ListClientMetricsResourcesResponse,
  handle(ctx) {
    if (!authorize(ctx, ACCESS.ListClientMetricsResources.cluster)) {
      return createListClientMetricsResourcesResponse({
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      });
    }
    const names = ctx.broker.clientMetrics?.subscriptions.names() ?? [];
    return createListClientMetricsResourcesResponse({
      clientMetricsResources: names.map((name) =>
        createListClientMetricsResourcesResponseClientMetricsResource({ name })
      ),
    });
  },
  errorResponse(_req, errorCode) {
    return createListClientMetricsResourcesResponse({ errorCode });
  },
});
