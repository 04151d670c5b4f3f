// Copyright 2026 the Sluice authors. Apache-2.0 license.
// PushTelemetry (key 72, KIP-714): served v0. A client instance pushes its metrics, an OTLP
// MetricsData protobuf compressed with none, gzip, snappy, lz4 or zstd (`../client_metrics.ts`,
// Kafka 3.9's ClientMetricsManager order of checks): a zero or reserved instance id:
// INVALID_REQUEST; a push after a terminating one: INVALID_REQUEST; before the push interval
// (and not terminating, nor the first after GetTelemetrySubscriptions):
// THROTTLING_QUOTA_EXCEEDED; a subscription id that is not the instance's:
// UNKNOWN_SUBSCRIPTION_ID; an unknown compression type: UNSUPPORTED_COMPRESSION_TYPE; more than
// `telemetry.max.bytes` (or ten times that decompressed): TELEMETRY_TOO_LARGE; bytes that do not
// decompress or are not OTLP metrics: INVALID_RECORD (what Kafka answers when its plugin fails).
// Accepted metrics are kept, latest value per series, for `/metrics`. No ACL is checked, as in
// Kafka. A broker without the client metrics manager (handler tests) accepts and drops them.

import {
  createPushTelemetryResponse,
  PushTelemetryRequest,
  PushTelemetryResponse,
} from "../../protocol/messages/push_telemetry.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { clientInfoOf } from "../client_metrics.ts";

/** PushTelemetry handler. */
export const pushTelemetry: ApiHandler = defineApi<PushTelemetryRequest, PushTelemetryResponse>({
  minVersion: 0,
  maxVersion: 0,
  request: PushTelemetryRequest,
  response: PushTelemetryResponse,
  handle(ctx, req) {
    const manager = ctx.broker.clientMetrics;
    if (manager === undefined) return createPushTelemetryResponse({});
    const r = manager.push(req, clientInfoOf(ctx));
    if (r.errorCode !== 0 && r.message !== null) {
      ctx.broker.logger.debug(`PushTelemetry refused: ${r.message}`);
    }
    return createPushTelemetryResponse({ errorCode: r.errorCode });
  },
  errorResponse(_req, errorCode) {
    return createPushTelemetryResponse({ errorCode });
  },
});
