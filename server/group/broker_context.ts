// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * What the group API handlers need from the broker: the coordinator (expected as
 * `BrokerContext.groups`), the client host in Kafka's form, and the signal that ends a long
 * JoinGroup/SyncGroup wait.
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import type { BrokerContext, RequestContext } from "../api.ts";
import type { GroupCoordinator } from "./coordinator.ts";

/**
 * The broker's group coordinator.
 *
 * @param broker The broker context.
 * @returns The coordinator.
 * @throws {KafkaError} COORDINATOR_NOT_AVAILABLE if the broker has none.
 */
export function groupCoordinatorOf(broker: BrokerContext): GroupCoordinator {
  const groups = (broker as BrokerContext & { readonly groups?: GroupCoordinator }).groups;
  if (groups === undefined) {
    throw new KafkaError(
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
      "Cannot serve group requests: the broker has no group coordinator",
    );
  }
  return groups;
}

/**
 * The client host as Kafka reports it (`/127.0.0.1`), from a `host:port` remote address.
 *
 * @example
 * ```ts
 * import { clientHostOf } from "./broker_context.ts";
 *
 * console.log(clientHostOf("127.0.0.1:51234")); // "/127.0.0.1"
 * console.log(clientHostOf("[::1]:51234")); // "/::1"
 * ```
 *
 * @param remote `host:port` or `[v6]:port`.
 * @returns `/host`.
 */
export function clientHostOf(remote: string): string {
  const i = remote.lastIndexOf(":");
  let host = i === -1 ? remote : remote.slice(0, i);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return `/${host}`;
}

/**
 * The signal that ends a long wait for this request: the broker shutting down, or the
 * connection closing if the connection exposes a `closed` signal.
 *
 * @param ctx The request context.
 * @returns A signal.
 */
export function waitSignalOf(ctx: RequestContext): AbortSignal {
  const closed = (ctx.connection as { readonly closed?: AbortSignal }).closed;
  return closed === undefined ? ctx.broker.closing : AbortSignal.any([ctx.broker.closing, closed]);
}
