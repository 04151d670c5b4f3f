// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { saslOptionsFromProperties, scramUpsertion } from "./sasl.ts";
import { saltedPassword, SCRAM_MECHANISMS } from "../protocol/scram.ts";

Deno.test("saslOptionsFromProperties() reads librdkafka's and Java's settings", () => {
  assertEquals(saslOptionsFromProperties({}), undefined);
  assertEquals(saslOptionsFromProperties({ "security.protocol": "SSL" }), undefined);
  assertEquals(
    saslOptionsFromProperties({
      "security.protocol": "sasl_plaintext",
      "sasl.mechanisms": "plain",
      "sasl.username": "u",
      "sasl.password": "p",
    }),
    { mechanism: "PLAIN", username: "u", password: "p" },
  );
  assertEquals(
    saslOptionsFromProperties({
      "security.protocol": "SASL_PLAINTEXT",
      "sasl.mechanism": "SCRAM-SHA-512",
      "sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required " +
        'username="a\\"b" password="p w";',
    }),
    { mechanism: "SCRAM-SHA-512", username: 'a"b', password: "p w" },
  );
  throws(
    () => saslOptionsFromProperties({ "security.protocol": "SASL_PLAINTEXT" }),
    /sasl\.mechanism/,
  );
  throws(
    () =>
      saslOptionsFromProperties({
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "u",
      }),
    /needs a user and a password/,
  );
});

Deno.test("scramUpsertion() salts randomly and runs PBKDF2 with the iterations asked", async () => {
  const a = await scramUpsertion("u", "SCRAM-SHA-256", "pw", 5000);
  const b = await scramUpsertion("u", "SCRAM-SHA-256", "pw", 5000);
  assertEquals([a.mechanismType, a.iterations, a.salt.length], [1, 5000, 24]);
  assertEquals(a.salt.length === b.salt.length && a.salt.some((x, i) => x !== b.salt[i]), true);
  const mech = SCRAM_MECHANISMS.get("SCRAM-SHA-256")!;
  assertEquals(a.saltedPassword, await saltedPassword(mech, "pw", a.salt, 5000));
});
