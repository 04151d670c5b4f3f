// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Malformed and oversized frames over a raw socket: the broker closes that connection and keeps
// serving everyone else. After every case a fresh connection must get a correct ApiVersions v0
// answer. The only request bytes built here are a fixed ApiVersions v0 frame (no codecs).

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { concat } from "../../protocol/framing.ts";
import { sharedBroker, withTimeout } from "../harness.ts";

const MAX_REQUEST = 1024 * 1024;
const broker = sharedBroker({ socketRequestMaxBytes: MAX_REQUEST });

function be32(n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
}

/** Request header v1 (key, version, correlation id, client id) + body, with the size prefix. */
function frame(apiKey: number, version: number, correlationId: number, body = new Uint8Array()) {
  const clientId = new TextEncoder().encode("raw");
  const head = new Uint8Array(10);
  const v = new DataView(head.buffer);
  v.setInt16(0, apiKey);
  v.setInt16(2, version);
  v.setInt32(4, correlationId);
  v.setInt16(8, clientId.length);
  const payload = concat([head, clientId, body]);
  return concat([be32(payload.length), payload]);
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array | null> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const read = await conn.read(out.subarray(got));
    if (read === null) return null;
    got += read;
  }
  return out;
}

/** Read one response frame; null when the connection was closed instead. */
async function readFrame(conn: Deno.Conn): Promise<Uint8Array | null> {
  const size = await readExactly(conn, 4);
  if (size === null) return null;
  return await readExactly(conn, new DataView(size.buffer).getInt32(0));
}

/** ApiVersions v0 on a new connection: correlation id echoed, error 0, ApiVersions listed. */
async function assertServing(port: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(frame(18, 0, 4242));
    const resp = await withTimeout(readFrame(conn), 30_000, "ApiVersions after bad frame");
    assert(resp !== null, "broker closed a good connection");
    const v = new DataView(resp.buffer, resp.byteOffset, resp.byteLength);
    assertEquals(v.getInt32(0), 4242);
    assertEquals(v.getInt16(4), 0);
    const count = v.getInt32(6);
    assert(count > 0, `ApiVersions listed ${count} APIs`);
    const keys: number[] = [];
    for (let i = 0; i < count; i++) keys.push(v.getInt16(10 + i * 6));
    assert(keys.includes(18), `ApiVersions does not list itself: ${keys}`);
  } finally {
    conn.close();
  }
}

/** Send `bytes` and expect the broker to close the connection (reset or EOF) within 10 s. */
async function assertClosedAfter(port: number, bytes: Uint8Array): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    try {
      await conn.write(bytes);
    } catch {
      return; // already reset by the broker
    }
    const closed = (async () => {
      const buf = new Uint8Array(4096);
      try {
        while (true) {
          const n = await conn.read(buf);
          if (n === null) return "eof";
        }
      } catch {
        return "reset";
      }
    })();
    const how = await withTimeout(closed, 30_000, "waiting for the broker to close");
    assert(how === "eof" || how === "reset");
  } finally {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }
}

function badFrameTest(name: string, bytes: () => Uint8Array): void {
  Deno.test({
    name: `bad frames: ${name} closes the connection, broker keeps serving`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const { port } = await broker();
      await assertServing(port);
      await assertClosedAfter(port, bytes());
      await assertServing(port);
    },
  });
}

badFrameTest("negative size prefix", () => concat([be32(-1), new Uint8Array(16)]));
badFrameTest("size prefix above socket.request.max.bytes", () => be32(MAX_REQUEST + 1));
badFrameTest("size prefix of 2 GiB - 1", () => be32(0x7fffffff));
badFrameTest("frame shorter than a request header", () => concat([be32(3), new Uint8Array(3)]));
badFrameTest("zero-length frame", () => be32(0));
badFrameTest("unknown API key 32000", () => frame(32000, 0, 1));
badFrameTest(
  "client id longer than the frame",
  () => concat([be32(10), new Uint8Array([0, 18, 0, 0, 0, 0, 0, 1, 0x7f, 0x7f])]),
);
badFrameTest(
  "Produce v3 with a garbage body",
  () => frame(0, 3, 7, new Uint8Array([0xff, 0xff, 1, 2, 3, 0x80, 0x80, 0x80, 0x80, 0x80])),
);
badFrameTest(
  "Metadata v1 with a topic count of 2^31-1",
  () => frame(3, 1, 8, be32(0x7fffffff)),
);
badFrameTest(
  "Fetch v4 body cut short",
  () => frame(1, 4, 9, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0])),
);

Deno.test({
  name: "bad frames: an oversized request body streamed in full closes the connection",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { port } = await broker();
    const body = new Uint8Array(2 * MAX_REQUEST);
    await assertClosedAfter(port, concat([be32(body.length), body]));
    await assertServing(port);
  },
});

Deno.test({
  name: "bad frames: a client vanishing mid-frame does not disturb the broker",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { port } = await broker();
    for (let i = 0; i < 5; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(frame(18, 0, i).subarray(0, 9));
      conn.close();
    }
    await assertServing(port);
  },
});

Deno.test({
  name: "bad frames: ApiVersions with an unsupported version gets UNSUPPORTED_VERSION",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { port } = await broker();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(frame(18, 999, 77));
      const resp = await withTimeout(readFrame(conn), 30_000, "ApiVersions v999");
      assert(resp !== null, "broker closed instead of answering UNSUPPORTED_VERSION");
      const v = new DataView(resp.buffer, resp.byteOffset, resp.byteLength);
      assertEquals(v.getInt32(0), 77);
      assertEquals(v.getInt16(4), 35); // UNSUPPORTED_VERSION, v0 body so the client can retry
    } finally {
      conn.close();
    }
    await assertServing(port);
  },
});

Deno.test({
  name: "bad frames: 20 concurrent bad connections, then a good one is served",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { port } = await broker();
    const bad = [be32(-5), be32(MAX_REQUEST * 4), frame(32000, 0, 1), be32(0)];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => assertClosedAfter(port, bad[i % bad.length])),
    );
    await assertServing(port);
  },
});
