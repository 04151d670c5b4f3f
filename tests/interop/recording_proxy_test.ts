// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { encodeRequestFrame } from "../../protocol/framing.ts";
import { ApiVersionsRequest } from "../../protocol/messages/api_versions.ts";
import { MetadataRequest } from "../../protocol/messages/metadata.ts";
import { inspectRequest, RecordingProxy } from "./recording_proxy.ts";

Deno.test("the proxy forwards bytes both ways unchanged and records each request frame", async () => {
  // The target echoes what it gets, so the client reads back exactly what reached it.
  const target = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const echo = (async () => {
    const conn = await target.accept();
    const buf = new Uint8Array(1024);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      await conn.write(buf.subarray(0, n));
    }
    conn.close();
  })();
  const proxy = RecordingProxy.listen({ target: () => target.addr.port });
  const a = encodeRequestFrame(ApiVersionsRequest, 3, 7, "me", ApiVersionsRequest.create({}));
  const md = encodeRequestFrame(MetadataRequest, 12, 8, "me", MetadataRequest.create({}));
  const b = new Uint8Array([...md, 1, 0, 0]); // 3 bytes after the last field
  new DataView(b.buffer).setInt32(0, b.length - 4);
  const all = new Uint8Array([...a, ...b]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  try {
    // split mid-size-prefix and mid-body
    for (const [from, to] of [[0, 2], [2, a.length + 6], [a.length + 6, all.length]]) {
      await conn.write(all.subarray(from, to));
      await new Promise((r) => setTimeout(r, 20));
    }
    const back = new Uint8Array(all.length);
    let got = 0;
    while (got < all.length) got += (await conn.read(back.subarray(got)))!;
    assertEquals(back, all);
    assertEquals(
      proxy.requests.map((r) => [r.connection, r.apiKey, r.apiVersion, r.correlationId, r.frame]),
      [[1, 18, 3, 7, a], [1, 3, 12, 8, b]],
    );
    const shape = inspectRequest(proxy.requests[1].frame);
    assertEquals([shape.name, shape.clientId, shape.trailingBytes], ["Metadata", "me", 3]);
  } finally {
    conn.close();
    await proxy.close();
    target.close();
    await echo;
  }
});
