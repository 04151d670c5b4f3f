// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Sweep: every registered API answers every advertised version, on its normal path and on its
// error path, with a response that encodes in that version (the codecs refuse fields a version
// lacks, so a handler that sets one would otherwise fail only for some clients).
import { deepStrictEqual as assertEquals, ok, throws } from "node:assert/strict";
import { encodeResponseFrame } from "../../protocol/framing.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { RawClient, startTestBroker } from "../testing.ts";
import { defineApi, registry } from "../api.ts";
import { APIS } from "./mod.ts";
import { produce } from "./produce.ts";

Deno.test("every API's error response encodes in every advertised version", () => {
  for (const api of APIS) {
    for (let v = api.minVersion; v <= api.maxVersion; v++) {
      const res = api.errorResponse(api.request.create(), ErrorCode.UNSUPPORTED_VERSION, "x");
      const bytes = encodeResponseFrame(api.response, v, 1, res);
      ok(bytes.length > 0, `${api.name} v${v}`);
    }
  }
});

Deno.test("every API answers a default request in every advertised version", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    for (const api of APIS) {
      for (let v = api.minVersion; v <= api.maxVersion; v++) {
        // acks=0 Produce would get no answer; everything else is a plain default request.
        const body = api.key === produce.key ? { acks: 1 } : {};
        const id = await c.send(api.request, v, body);
        const got = await c.receive(api.response, v);
        assertEquals(got.correlationId, id, `${api.name} v${v}`);
      }
    }
    const failures = t.lines.filter((l) => l.startsWith("ERROR"));
    assertEquals(failures, []);
  } finally {
    c.close();
  }
});

Deno.test("each handler's key and name are its codec's; the registry refuses a key twice", () => {
  for (const api of APIS) {
    assertEquals([api.key, api.response.apiKey], [api.request.apiKey, api.request.apiKey]);
    assertEquals(`${api.name}Request`, api.request.name);
  }
  assertEquals(new Set(APIS.map((a) => a.key)).size, APIS.length);
  ok(APIS.every((a, i) => i === 0 || APIS[i - 1].key < a.key));
  throws(() => registry([APIS[0], APIS[1], APIS[0]]), /API key 0 is registered twice: Produce/);
  throws(
    () =>
      defineApi({
        ...APIS[0],
        response: APIS[1].response,
      }),
    /response codec FetchResponse is of API key 1, not 0/,
  );
});
