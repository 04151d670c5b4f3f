// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { createConverter } from "./converters.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => b === null ? null : new TextDecoder().decode(b);

Deno.test("JsonConverter with schemas writes Kafka's envelope and reads it back (bytes as base64)", () => {
  const c = createConverter("org.apache.kafka.connect.json.JsonConverter");
  assertEquals(
    dec(c.fromConnectData("t", { type: "string", optional: false }, "Grüße")),
    '{"schema":{"type":"string","optional":false},"payload":"Grüße"}',
  );
  const schema = {
    type: "struct" as const,
    fields: [{ field: "id", type: "int32" as const }, { field: "raw", type: "bytes" as const }],
  };
  const bytes = c.fromConnectData("t", schema, { id: 1, raw: new Uint8Array([0, 255]) });
  assertEquals(
    dec(bytes),
    '{"schema":{"type":"struct","fields":[{"field":"id","type":"int32"},{"field":"raw","type":"bytes"}]},"payload":{"id":1,"raw":"AP8="}}',
  );
  assertEquals(c.toConnectData("t", bytes), {
    schema,
    value: { id: 1, raw: new Uint8Array([0, 255]) },
  });
  assertEquals(c.fromConnectData("t", null, null), null);
  assertEquals(c.toConnectData("t", null), { schema: null, value: null });
  assertThrows(() => c.toConnectData("t", enc('{"a":1}')), /requires "schema" and "payload"/);
  assertThrows(() => c.toConnectData("t", enc("{nope")), /serialization error/);
});

Deno.test("JsonConverter without schemas: plain JSON", () => {
  const c = createConverter("JsonConverter", { "schemas.enable": "false" });
  assertEquals(dec(c.fromConnectData("t", null, { a: [1, "x"] })), '{"a":[1,"x"]}');
  assertEquals(c.toConnectData("t", enc('{"a":1}')), { schema: null, value: { a: 1 } });
});

Deno.test("StringConverter and ByteArrayConverter", () => {
  const s = createConverter("org.apache.kafka.connect.storage.StringConverter");
  assertEquals(dec(s.fromConnectData("t", null, "日本")), "日本");
  assertEquals(s.toConnectData("t", enc("x")), {
    schema: { type: "string", optional: true },
    value: "x",
  });
  const b = createConverter("org.apache.kafka.connect.converters.ByteArrayConverter");
  assertEquals(b.fromConnectData("t", null, new Uint8Array([1, 2])), new Uint8Array([1, 2]));
  assertThrows(() => b.fromConnectData("t", null, { a: 1 }), /not bytes/);
  assertThrows(() => createConverter("com.example.Converter"), /could not be found/);
  assertThrows(() => createConverter("org.example.JsonConverter"), /could not be found/);
});
