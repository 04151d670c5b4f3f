// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The name of the data directory's client metrics subscriptions file, apart from the manager
 * (`client_metrics.ts`, which re-exports it) so the broker can tell at start whether there are
 * subscriptions to check without importing KIP-714's code (issue #17).
 *
 * @module
 */

/** File in the data directory holding the client metrics subscriptions. */
export const CLIENT_METRICS_FILE = "sluice-client-metrics.json";
