// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Forwarding of client metrics (KIP-714) to an OTLP/HTTP collector
 * (`sluice.client.metrics.otlp.endpoint`): each accepted PushTelemetry payload, decompressed, is
 * posted as it came (`Content-Type: application/x-protobuf`, OTLP/HTTP's binary encoding) without
 * waiting for the answer. At most 8 posts are in flight: more are dropped and counted, so a slow
 * collector cannot take the broker's memory; failures are logged at most once a minute.
 *
 * @module
 */

import type { ClientInstance } from "./client_metrics.ts";
import type { Logger } from "./logger.ts";

/** Posts in flight at most; more payloads are dropped. */
export const MAX_IN_FLIGHT = 8;

/**
 * A payload sink posting to an OTLP/HTTP metrics endpoint. Needs `--allow-net` to the endpoint.
 *
 * @example
 * ```ts ignore
 * const forward = otlpForwarder("http://127.0.0.1:4318/v1/metrics", logger, signal);
 * ```
 *
 * @param endpoint The URL (`http://host:4318/v1/metrics`).
 * @param log Where failures are reported.
 * @param signal Aborts posts in flight when the broker shuts down.
 * @returns The sink for `ClientMetricsOptions.onPayload`.
 */
export function otlpForwarder(
  endpoint: string,
  log: Logger,
  signal: AbortSignal,
): (instance: ClientInstance, otlp: Uint8Array) => void {
  let inFlight = 0;
  let dropped = 0;
  let lastWarn = -Infinity;
  const warn = (message: string) => {
    const now = Date.now();
    if (now - lastWarn < 60_000) return;
    lastWarn = now;
    log.warn(`Client metrics forwarding to ${endpoint}: ${message}`);
  };
  return (instance, otlp) => {
    if (signal.aborted) return;
    if (inFlight >= MAX_IN_FLIGHT) {
      dropped++;
      warn(`${dropped} payloads dropped so far (${MAX_IN_FLIGHT} posts in flight)`);
      return;
    }
    inFlight++;
    fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-protobuf",
        "x-kafka-client-instance-id": instance.id,
      },
      body: otlp.slice(),
      signal,
    }).then(async (r) => {
      await r.body?.cancel();
      if (!r.ok) warn(`HTTP ${r.status}`);
    }, (e) => {
      if (!signal.aborted) warn(e instanceof Error ? e.message : String(e));
    }).finally(() => inFlight--);
  };
}
