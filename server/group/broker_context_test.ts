// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { KafkaError } from "../../protocol/errors.ts";
import type { BrokerContext, RequestContext } from "../api.ts";
import { clientHostOf, groupCoordinatorOf, waitSignalOf } from "./broker_context.ts";
import { GroupCoordinator } from "./coordinator.ts";
import { ManualScheduler } from "./scheduler.ts";

Deno.test("clientHostOf formats hosts as Kafka does", () => {
  assertEquals(clientHostOf("127.0.0.1:51234"), "/127.0.0.1");
  assertEquals(clientHostOf("[::1]:9"), "/::1");
  assertEquals(clientHostOf("somehost"), "/somehost");
});

Deno.test("groupCoordinatorOf: the broker's coordinator, or COORDINATOR_NOT_AVAILABLE", () => {
  const groups = new GroupCoordinator({ scheduler: new ManualScheduler() });
  try {
    assertEquals(groupCoordinatorOf({ groups } as unknown as BrokerContext), groups);
    assertThrows(
      () => groupCoordinatorOf({} as BrokerContext),
      (e: unknown) => e instanceof KafkaError && e.code === 15,
    );
  } finally {
    groups.close();
  }
});

Deno.test("waitSignalOf ends on broker shutdown or on a closed connection", () => {
  const closing = new AbortController();
  const closed = new AbortController();
  const ctx = (connection: object) =>
    ({ broker: { closing: closing.signal }, connection }) as unknown as RequestContext;
  assertEquals(waitSignalOf(ctx({ id: 1, remote: "a:1" })), closing.signal);
  const both = waitSignalOf(ctx({ id: 1, remote: "a:1", closed: closed.signal }));
  assertEquals(both.aborted, false);
  closed.abort();
  assertEquals(both.aborted, true);
});
