// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test harness for the group API handlers: a real storage engine in a temporary directory and a
 * real group coordinator, with requests and responses round-tripped through the generated codecs
 * at the version under test (so a field a version cannot carry fails the test).
 *
 * @module
 */

import { LogManager } from "../../engine/mod.ts";
import { decodeMessage, encodeMessage } from "../../protocol/primitives.ts";
import type { ApiHandler, BrokerContext, RequestContext } from "../api.ts";
import type { GroupCoordinator, GroupCoordinatorConfig } from "./coordinator.ts";
import { openGroupCoordinator } from "./open_group_coordinator.ts";

/** A running harness. */
export interface HandlerHarness {
  /** The coordinator the handlers use. */
  readonly groups: GroupCoordinator;
  /** The engine (topic `t` with 3 partitions exists). */
  readonly logs: LogManager;
  /** Aborting it is a broker shutdown. */
  readonly closing: AbortController;
  /**
   * Encode `request` at `version`, decode it, handle it, and round-trip the response.
   *
   * @returns The decoded response.
   */
  call<Req, Res>(api: ApiHandler, version: number, request: Req): Promise<Res>;
  /** Close the coordinator and the engine and remove the directory. */
  close(): Promise<void>;
}

/**
 * Start a harness.
 *
 * @param config Coordinator settings (default: no initial rebalance delay).
 * @returns The harness.
 */
export async function openHandlerHarness(
  config: Partial<GroupCoordinatorConfig> = {},
): Promise<HandlerHarness> {
  const dir = await Deno.makeTempDir({ prefix: "sluice_group_api_" });
  const logs = await LogManager.open(dir);
  await logs.createTopic("t", 3);
  const groups = await openGroupCoordinator(logs, {
    offsetsTopicNumPartitions: 3,
    config: { initialRebalanceDelayMs: 0, ...config },
  });
  const closing = new AbortController();
  const broker = {
    nodeId: 7,
    clusterId: "test-cluster",
    advertised: { host: "broker.test", port: 19092 },
    logs,
    closing: closing.signal,
    groups,
  } as unknown as BrokerContext;
  return {
    groups,
    logs,
    closing,
    async call<Req, Res>(api: ApiHandler, version: number, request: Req): Promise<Res> {
      const req = decodeMessage(
        api.request,
        encodeMessage(api.request as never, request, version),
        version,
      ) as Req;
      const ctx: RequestContext = {
        broker,
        version,
        correlationId: 1,
        clientId: "test-client",
        connection: { id: 1, remote: "127.0.0.1:50000" },
      };
      const res = await api.handle(ctx, req);
      const bytes = encodeMessage(api.response as never, res, version);
      return decodeMessage(api.response, bytes, version) as Res;
    },
    async close() {
      groups.close();
      await logs.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
