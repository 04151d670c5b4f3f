// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { parseJaasConfig, PLAIN_LOGIN_MODULE, plainUsers } from "./jaas.ts";

Deno.test("parseJaasConfig() reads Kafka's sasl.jaas.config values", () => {
  const c = parseJaasConfig(
    `${PLAIN_LOGIN_MODULE} required\n  username="admin" password="a;b \\"c\\"" ` +
      `user_admin="a;b \\"c\\"" user_alice=bare;`,
  );
  assertEquals(c.loginModule, PLAIN_LOGIN_MODULE);
  assertEquals(c.flag, "required");
  assertEquals(c.options, {
    username: "admin",
    password: 'a;b "c"',
    user_admin: 'a;b "c"',
    user_alice: "bare",
  });
  assertEquals(
    plainUsers(c),
    new Map([["admin", 'a;b "c"'], ["alice", "bare"]]),
  );
  for (
    const bad of [
      "",
      `${PLAIN_LOGIN_MODULE};`,
      `${PLAIN_LOGIN_MODULE} always;`,
      `${PLAIN_LOGIN_MODULE} required user_a="x"`,
      `${PLAIN_LOGIN_MODULE} required user_a;`,
      `${PLAIN_LOGIN_MODULE} required user_a="x;`,
      `${PLAIN_LOGIN_MODULE} required user_a=;`,
      `${PLAIN_LOGIN_MODULE} required; other required;`,
    ]
  ) {
    throws(() => parseJaasConfig(bad), RangeError, bad);
  }
});
