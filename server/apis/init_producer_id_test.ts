// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../../protocol/messages/init_producer_id.ts";
import { Broker } from "../broker.ts";
import { RawClient, startTestBroker } from "../testing.ts";

Deno.test("InitProducerId: new ids with epoch 0, unique across restarts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const seen = new Set<number>();
    for (let round = 0; round < 2; round++) {
      const broker = await Broker.start({
        listeners: "PLAINTEXT://127.0.0.1:0",
        logDirs: [dir],
        logLevel: "silent",
      });
      const c = await RawClient.connect(broker.port);
      try {
        for (const v of [0, 2, 3, 4, 5]) {
          const res = await c.request(InitProducerIdRequest, InitProducerIdResponse, v, {
            transactionalId: null,
            transactionTimeoutMs: 60000,
            producerId: -1,
            producerEpoch: -1,
          });
          assertEquals([res.errorCode, res.producerEpoch], [0, 0], `v${v}`);
          ok(res.producerId >= 0 && !seen.has(res.producerId), `fresh id ${res.producerId}`);
          seen.add(res.producerId);
        }
      } finally {
        c.close();
        await broker.close();
      }
    }
    assertEquals(seen.size, 10);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("InitProducerId: a transactional id gets an id, then epoch bumps; fencing by version", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const init = (v: number, producerId = -1, producerEpoch = -1, timeout = 60000) =>
      c.request(InitProducerIdRequest, InitProducerIdResponse, v, {
        transactionalId: "txn-1",
        transactionTimeoutMs: timeout,
        producerId,
        producerEpoch,
      });
    const first = await init(4);
    assertEquals([first.errorCode, first.producerEpoch], [0, 0]);
    const second = await init(0);
    assertEquals([second.errorCode, second.producerId, second.producerEpoch], [
      0,
      first.producerId,
      1,
    ]);
    // KIP-360: the current epoch bumps; a retry of that bump gets the same answer; an older
    // epoch is fenced (INVALID_PRODUCER_EPOCH before v4).
    const third = await init(4, first.producerId, 1);
    assertEquals([third.errorCode, third.producerEpoch], [0, 2]);
    const retry = await init(4, first.producerId, 1);
    assertEquals([retry.errorCode, retry.producerEpoch], [0, 2]);
    assertEquals((await init(4, first.producerId, 0)).errorCode, ErrorCode.PRODUCER_FENCED);
    assertEquals((await init(3, first.producerId, 0)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assertEquals((await init(4, -1, -1, 900001)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  } finally {
    c.close();
  }
});

Deno.test("InitProducerId: re-initialising an idempotent producer (KIP-360, v3+) gives a new id", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const first = await c.request(InitProducerIdRequest, InitProducerIdResponse, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60000,
      producerId: -1,
      producerEpoch: -1,
    });
    assertEquals([first.errorCode, first.producerEpoch], [0, 0]);
    // Kafka's TransactionCoordinator hands a non-transactional producer a fresh id whatever it
    // sends; the client bumps the epoch of its idempotent producer itself (no request).
    const again = await c.request(InitProducerIdRequest, InitProducerIdResponse, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60000,
      producerId: first.producerId,
      producerEpoch: 0,
    });
    assertEquals([again.errorCode, again.producerEpoch], [0, 0]);
    assertEquals(again.producerId, first.producerId + 1);
  } finally {
    c.close();
  }
});
