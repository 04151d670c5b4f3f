// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Sweep: every registered API answers every advertised version, on its normal path and on its
// error path, with a response that encodes in that version (the codecs refuse fields a version
// lacks, so a handler that sets one would otherwise fail only for some clients).
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { encodeResponseFrame } from "../../protocol/framing.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { RawClient, startTestBroker } from "../testing.ts";
import { APIS } from "./mod.ts";

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
        const body = api.key === 0 ? { acks: 1 } : {};
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
