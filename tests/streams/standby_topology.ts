// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The topology and timeouts shared by the standby failover test and its killed instance.
 *
 * @module
 */

import { Serdes, StreamsBuilder, type Topology } from "../../streams/mod.ts";

/** Counts the records of each key of `input` into the store `counts`, updates to `output`. */
export function countByKey(input: string, output: string, persistent: boolean): Topology {
  const builder = new StreamsBuilder();
  builder.stream<string, string>(input)
    .groupByKey()
    .count({ storeName: "counts", persistent })
    .toStream()
    .to(output, { valueSerde: Serdes.Int64() });
  return builder.build();
}

/** Short timeouts: a killed member leaves the group, and its transaction ends, within 10 s. */
export const STANDBY_TEST_TIMEOUTS = {
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 20_000,
  transactionTimeoutMs: 5_000,
} as const;
