// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The worker of one shard of a sharded broker (`sluice.workers` > 1, `server/shards.ts`):
 * started by shard 0 (`Broker.start`) with the shard's configuration and its ports to the other
 * shards; it runs a broker until told to close.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { type Broker, type ShardSetup, startShard } from "./broker.ts";
import type { BrokerConfig } from "./config.ts";

type Command =
  | { type: "start"; config: BrokerConfig; shard: ShardSetup }
  | { type: "close" };

let broker: Broker | undefined;

self.onmessage = async (e: MessageEvent<Command>) => {
  const c = e.data;
  try {
    if (c.type === "start") {
      broker = await startShard(c.config, c.shard);
      self.postMessage({ type: "ready" });
    } else {
      await broker?.close();
      self.postMessage({ type: "closed" });
    }
  } catch (err) {
    self.postMessage({ type: "failed", message: err instanceof Error ? err.message : String(err) });
  }
};
