// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Cluster mode keeps one set of client quotas in etcd (`<prefix>/client-quotas`): an
// AlterClientQuotas on one broker is enforced and described by every broker through the watch,
// and a restarted broker loads them; an ip entity's connection_creation_rate (KIP-612) too.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  AlterClientQuotasRequest,
  AlterClientQuotasResponse,
} from "../../protocol/messages/alter_client_quotas.ts";
import { RawClient } from "../../server/testing.ts";
import { sharedEtcd } from "../etcd.ts";
import { clusterTest, startCluster, until } from "./harness.ts";

const etcd = sharedEtcd();

const test = clusterTest("cluster client quotas");

test("AlterClientQuotas on one broker applies on every broker, and after a restart", async () => {
  const e = await etcd();
  const c = await startCluster(e, 2);
  try {
    const raw = await RawClient.connect(c.brokers[0]!.port);
    try {
      const r = await raw.request(AlterClientQuotasRequest, AlterClientQuotasResponse, 1, {
        entries: [{
          entity: [{ entityType: "client-id", entityName: null }],
          ops: [{ key: "producer_byte_rate", value: 4096, remove: false }],
        }, {
          entity: [{ entityType: "ip", entityName: "127.0.0.9" }],
          ops: [{ key: "connection_creation_rate", value: 3, remove: false }],
        }],
      });
      assertEquals(r.entries.map((e) => e.errorCode), [0, 0]);
    } finally {
      raw.close();
    }
    const bound = (i: number) =>
      c.brokers[i]!.quotas.store.resolve("producer_byte_rate", "ANONYMOUS", "app")?.bound;
    const ipRate = (i: number) => c.brokers[i]!.quotas.store.ipConnectionRate("127.0.0.9");
    assertEquals([bound(0), ipRate(0)], [4096, 3]);
    await until("broker 2 has the quotas", () => bound(1) === 4096 && ipRate(1) === 3, 10_000);
    await c.stop(1);
    await c.start(1);
    assertEquals([bound(1), ipRate(1)], [4096, 3]);
  } finally {
    await c.close();
  }
});
