// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, strictEqual } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { createLogger } from "../logger.ts";
import type { TxnTopicResult } from "./coordinator.ts";
import { produceErrorOfVerification, TxnVerifier } from "./verification.ts";

/** A verifier whose coordinator is this broker, answering when `release` is called. */
function verifierWithHeldAnswers(answer: number) {
  const held: (() => void)[] = [];
  const verifier = new TxnVerifier({
    nodeId: 1,
    cluster: {
      leaderOf: () => 1,
      internalPartitions: () => 5,
      endpoint: () => undefined,
    },
    local: (_p, topics) =>
      new Promise<TxnTopicResult[]>((resolve) =>
        held.push(() =>
          resolve(topics.map((t) => ({
            topic: t.topic,
            partitions: t.partitions.map((partition) => ({ partition, errorCode: answer })),
          })))
        )
      ),
    requestTimeoutMs: 1000,
    logger: createLogger({ level: "silent" }),
  });
  return { verifier, release: () => held.splice(0).forEach((r) => r()) };
}

const P = { producerId: 7, producerEpoch: 0 };

Deno.test("TxnVerifier: a marker of the producer enqueued while the question is out voids the answer", async () => {
  const { verifier, release } = verifierWithHeldAnswers(ErrorCode.NONE);
  const asked = verifier.verify("t", P, "orders", 0);
  const done = verifier.markerStarted("orders", 0, 7);
  strictEqual(verifier.markerInFlight("orders", 0, 7), true);
  done();
  strictEqual(verifier.markerInFlight("orders", 0, 7), false);
  release();
  const v = await asked;
  strictEqual(v.errorCode, ErrorCode.NONE);
  strictEqual(v.stillValid(), false);
  verifier.close();
});

Deno.test("TxnVerifier: markers of other producers or partitions leave the answer valid; one in flight does not", async () => {
  const { verifier, release } = verifierWithHeldAnswers(ErrorCode.NONE);
  const asked = verifier.verify("t", P, "orders", 0);
  verifier.markerStarted("orders", 0, 8)();
  verifier.markerStarted("orders", 1, 7)();
  release();
  const v = await asked;
  strictEqual(v.stillValid(), true);
  // answered, then a marker is enqueued before the answer is used
  const again = verifier.verify("t", P, "orders", 0);
  release();
  const w = await again;
  const done = verifier.markerStarted("orders", 0, 7);
  strictEqual(w.stillValid(), false, "a marker being appended");
  done();
  verifier.close();
});

Deno.test("TxnVerifier: the coordinator's answers become Kafka's Produce errors", async () => {
  const codes = [];
  for (
    const answer of [
      ErrorCode.INVALID_TXN_STATE,
      ErrorCode.PRODUCER_FENCED,
      ErrorCode.NOT_COORDINATOR,
      ErrorCode.CONCURRENT_TRANSACTIONS,
    ]
  ) {
    const { verifier, release } = verifierWithHeldAnswers(answer);
    const asked = verifier.verify("t", P, "orders", 0);
    release();
    codes.push((await asked).errorCode);
    verifier.close();
  }
  assertEquals(codes, [
    ErrorCode.INVALID_TXN_STATE,
    ErrorCode.INVALID_PRODUCER_EPOCH,
    ErrorCode.NOT_ENOUGH_REPLICAS,
    ErrorCode.NOT_ENOUGH_REPLICAS,
  ]);
  strictEqual(produceErrorOfVerification(ErrorCode.NETWORK_EXCEPTION), ErrorCode.NETWORK_EXCEPTION);
});
