// Copyright 2026 the Sluice authors. Apache-2.0 license.
// GetTelemetrySubscriptions (key 71, KIP-714): served v0. A client instance asks which metrics to
// push and how often (`../client_metrics.ts`, Kafka 3.9's ClientMetricsManager): a zero client
// instance id gets a new broker-generated one; the subscriptions matching the client (client id,
// software name and version from ApiVersions v3+, source address and port, instance id) give the
// requested metric prefixes (`*` for all, none when nothing matches) and the shortest of their
// push intervals (300000 ms without a match). Asked again before the push interval:
// THROTTLING_QUOTA_EXCEEDED, unless the last push was refused with UNKNOWN_SUBSCRIPTION_ID or
// UNSUPPORTED_COMPRESSION_TYPE or the subscriptions changed. Sums are asked for cumulative
// (delta_temporality false): their latest values are what `/metrics` shows. No ACL is checked,
// as in Kafka. A broker without the client metrics manager (handler tests) answers an empty
// subscription.

import {
  createGetTelemetrySubscriptionsResponse,
  GetTelemetrySubscriptionsRequest,
  GetTelemetrySubscriptionsResponse,
} from "../../protocol/messages/get_telemetry_subscriptions.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { clientInfoOf } from "../client_metrics.ts";

/** GetTelemetrySubscriptions handler. */
export const getTelemetrySubscriptions: ApiHandler = defineApi<
  GetTelemetrySubscriptionsRequest,
  GetTelemetrySubscriptionsResponse
>({
  minVersion: 0,
  maxVersion: 0,
  request: GetTelemetrySubscriptionsRequest,
  response: GetTelemetrySubscriptionsResponse,
  handle(ctx, req) {
    const manager = ctx.broker.clientMetrics;
    if (manager === undefined) {
      return createGetTelemetrySubscriptionsResponse({
        clientInstanceId: req.clientInstanceId,
      });
    }
    const a = manager.getSubscriptions(req.clientInstanceId, clientInfoOf(ctx));
    if (a.errorMessage !== undefined) ctx.broker.logger.debug(a.errorMessage);
    return createGetTelemetrySubscriptionsResponse({
      errorCode: a.errorCode,
      clientInstanceId: a.clientInstanceId,
      subscriptionId: a.subscriptionId,
      acceptedCompressionTypes: a.acceptedCompressionTypes,
      pushIntervalMs: a.pushIntervalMs,
      telemetryMaxBytes: a.telemetryMaxBytes,
      deltaTemporality: a.deltaTemporality,
      requestedMetrics: a.requestedMetrics,
    });
  },
  errorResponse(req, errorCode) {
    return createGetTelemetrySubscriptionsResponse({
      errorCode,
      clientInstanceId: req.clientInstanceId,
    });
  },
});
