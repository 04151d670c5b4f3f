// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The broker's lifecycle state, apart from the `/metrics` collection (`collect.ts`, which
 * re-exports it) so a broker without an admin listener imports no metrics code at start
 * (issue #17).
 *
 * @module
 */

/**
 * The broker's lifecycle, numbered as Kafka's `BrokerState` (the `kafka_server_kafkaserver_
 * brokerstate` gauge).
 */
export const BrokerState: Readonly<{
  NOT_RUNNING: 0;
  STARTING: 1;
  RECOVERY: 2;
  RUNNING: 3;
  SHUTTING_DOWN: 7;
}> = Object.freeze({
  /** Not started, or stopped. */
  NOT_RUNNING: 0,
  /** Starting: locking the data directory, reading `meta.properties`, joining the cluster. */
  STARTING: 1,
  /** Opening (recovering) the logs. */
  RECOVERY: 2,
  /** Serving requests. */
  RUNNING: 3,
  /** Shutting down. */
  SHUTTING_DOWN: 7,
});

/** One of {@linkcode BrokerState}'s values. */
export type BrokerStateValue = typeof BrokerState[keyof typeof BrokerState];

/**
 * A broker state in words, as `/readyz` and the web console show it.
 *
 * @param s The state.
 * @returns E.g. `recovering the logs`.
 */
export function brokerStateName(s: BrokerStateValue): string {
  switch (s) {
    case BrokerState.NOT_RUNNING:
      return "not running";
    case BrokerState.STARTING:
      return "starting";
    case BrokerState.RECOVERY:
      return "recovering the logs";
    case BrokerState.RUNNING:
      return "running";
    case BrokerState.SHUTTING_DOWN:
      return "shutting down";
  }
}
