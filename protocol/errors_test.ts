// Copyright 2026 the Sluice authors. Apache-2.0 license.

import assert from "node:assert/strict";
import { ErrorCode, errorInfo, errorName, ERRORS, isRetriable, KafkaError } from "./errors.ts";

Deno.test("error table: contiguous codes -1..128, names match ErrorCode", () => {
  assert.equal(ERRORS.length, 130);
  ERRORS.forEach((e, i) => assert.equal(e.code, i - 1));
  for (const e of ERRORS) {
    assert.equal((ErrorCode as Record<string, number>)[e.name], e.code, e.name);
  }
  assert.equal(Object.keys(ErrorCode).length, ERRORS.length);
});

Deno.test("well-known codes", () => {
  const known: [number, string, boolean][] = [
    [0, "NONE", false],
    [1, "OFFSET_OUT_OF_RANGE", false],
    [2, "CORRUPT_MESSAGE", true],
    [3, "UNKNOWN_TOPIC_OR_PARTITION", true],
    [6, "NOT_LEADER_OR_FOLLOWER", true],
    [10, "MESSAGE_TOO_LARGE", false],
    [18, "RECORD_LIST_TOO_LARGE", false],
    [35, "UNSUPPORTED_VERSION", false],
    [36, "TOPIC_ALREADY_EXISTS", false],
    [37, "INVALID_PARTITIONS", false],
    [87, "INVALID_RECORD", false],
    [100, "UNKNOWN_TOPIC_ID", true],
    [127, "VOTER_NOT_FOUND", false],
    [128, "INVALID_REGULAR_EXPRESSION", false],
  ];
  for (const [code, name, retriable] of known) {
    assert.equal(errorName(code), name);
    assert.equal(isRetriable(code), retriable, name);
  }
  assert.equal(errorName(999), "UNKNOWN_ERROR_CODE_999");
  assert.equal(errorInfo(999), undefined);
  assert.equal(isRetriable(999), false);
});

Deno.test("KafkaError carries code, name, retriability and Kafka's message", () => {
  const e = new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "produce to orders-0");
  assert.equal(e.code, 3);
  assert.equal(e.errorName, "UNKNOWN_TOPIC_OR_PARTITION");
  assert.equal(e.retriable, true);
  assert.equal(e.name, "KafkaError");
  assert.equal(
    e.message,
    "produce to orders-0: UNKNOWN_TOPIC_OR_PARTITION (3): This server does not host this " +
      "topic-partition.",
  );
  assert.equal(new KafkaError(500).message, "UNKNOWN_ERROR_CODE_500 (500)");
});
