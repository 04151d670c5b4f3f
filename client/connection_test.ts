import assert from "node:assert/strict";
import { decodeRequestHeader, encodeResponseFrame, FrameSplitter } from "../protocol/framing.ts";
import { Reader } from "../protocol/primitives.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import { MetadataRequest, MetadataResponse } from "../protocol/messages/metadata.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { KafkaError } from "../protocol/errors.ts";
import { Connection } from "./connection.ts";

/** A request as seen by the fake peer. */
interface SeenRequest {
  apiKey: number;
  version: number;
  correlationId: number;
  clientId: string | null;
  body: Uint8Array;
  bodyOffset: number;
}

type Reply = (req: SeenRequest) => Uint8Array[] | "close" | "ignore";

/**
 * A tiny Kafka peer speaking real frames over TCP (not our broker): answers ApiVersions with
 * `versions`, then lets `reply` decide what to do with every other request.
 */
function fakeBroker(
  versions: Array<[number, number, number]>,
  reply: Reply,
  maxApiVersionsVersion = 3,
): {
  port: number;
  seen: SeenRequest[];
  close: () => Promise<void>;
} {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: SeenRequest[] = [];
  const conns: Deno.Conn[] = [];
  const done = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      (async () => {
        const splitter = new FrameSplitter();
        try {
          for (;;) {
            const buf = new Uint8Array(65536);
            const n = await conn.read(buf);
            if (n === null) return;
            for (const frame of splitter.push(buf.subarray(0, n))) {
              const { header, bodyOffset } = decodeRequestHeader(frame);
              const req: SeenRequest = {
                apiKey: header.requestApiKey,
                version: header.requestApiVersion,
                correlationId: header.correlationId,
                clientId: header.clientId,
                body: frame,
                bodyOffset,
              };
              seen.push(req);
              let out: Uint8Array[] | "close" | "ignore";
              if (req.apiKey === 18) {
                // Like Kafka: an unsupported ApiVersions version gets a v0 UNSUPPORTED_VERSION.
                const tooNew = req.version > maxApiVersionsVersion;
                out = encodeResponseFrame(
                  ApiVersionsResponse,
                  tooNew ? 0 : req.version,
                  req.correlationId,
                  ApiVersionsResponse.create({
                    errorCode: tooNew ? 35 : 0,
                    apiKeys: versions.map(([apiKey, minVersion, maxVersion]) => ({
                      apiKey,
                      minVersion,
                      maxVersion,
                    })),
                  }),
                );
              } else out = reply(req);
              if (out === "close") {
                conn.close();
                return;
              }
              if (out === "ignore") continue;
              for (const chunk of out) await conn.write(chunk);
            }
          }
        } catch {
          // connection closed by the client
        }
      })();
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    port,
    seen,
    close: async () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await done.catch(() => {});
    },
  };
}

const VERSIONS: Array<[number, number, number]> = [[18, 0, 3], [3, 0, 7]];
const metadataApi = { request: MetadataRequest, response: MetadataResponse };

function metadataReply(req: SeenRequest): Uint8Array[] {
  return encodeResponseFrame(
    MetadataResponse,
    req.version,
    req.correlationId,
    MetadataResponse.create({
      brokers: [{ nodeId: req.correlationId, host: "h", port: 1, rack: null }],
      clusterId: "c",
      controllerId: 1,
      topics: [],
    }),
  );
}

Deno.test("Connection negotiates the highest common version and sends the client id", async () => {
  const broker = fakeBroker(VERSIONS, metadataReply);
  const conn = await Connection.connect({ host: "127.0.0.1", port: broker.port, clientId: "me" });
  try {
    assert.equal(conn.versionFor(ApiVersionsRequest), 3);
    assert.equal(conn.versionFor(MetadataRequest), 7); // client supports 0-12, broker 0-7
    const res = await conn.send(metadataApi, MetadataRequest.create({ topics: null }));
    assert.equal(res.clusterId, "c");
    assert.deepEqual(broker.seen.map((r) => [r.apiKey, r.version, r.clientId]), [
      [18, 3, "me"],
      [3, 7, "me"],
    ]);
    // The ApiVersions v3 body carries the client software name and version.
    const body = ApiVersionsRequest.read(
      new Reader(broker.seen[0].body, broker.seen[0].bodyOffset),
      3,
    );
    assert.deepEqual([body.clientSoftwareName, body.clientSoftwareVersion], ["sluice", "0.1.0"]);
  } finally {
    conn.close();
    await broker.close();
  }
});

Deno.test("Connection refuses an API the broker does not support with UNSUPPORTED_VERSION", async () => {
  const broker = fakeBroker(VERSIONS, metadataReply);
  const conn = await Connection.connect({ host: "127.0.0.1", port: broker.port });
  try {
    await assert.rejects(
      conn.send({ request: ProduceRequest, response: ProduceResponse }, ProduceRequest.create()),
      (e: unknown) => {
        assert.ok(e instanceof KafkaError);
        assert.equal(e.errorName, "UNSUPPORTED_VERSION");
        assert.match(
          e.message,
          /^ProduceRequest to 127\.0\.0\.1:\d+: no common version \(client 0-11, broker none\)/,
        );
        return true;
      },
    );
  } finally {
    conn.close();
    await broker.close();
  }
});

Deno.test("Connection pipelines requests and matches responses in order", async () => {
  const broker = fakeBroker(VERSIONS, metadataReply);
  const conn = await Connection.connect({ host: "127.0.0.1", port: broker.port });
  try {
    const sends = Array.from(
      { length: 25 },
      () => conn.send(metadataApi, MetadataRequest.create({ topics: null })),
    );
    assert.equal(conn.inFlight, 25);
    const results = await Promise.all(sends);
    const ids = broker.seen.slice(1).map((r) => r.correlationId);
    assert.equal(ids.length, 25);
    for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1] + 1);
    // Each response carries its request's correlation id as the broker node id.
    assert.deepEqual(results.map((r) => r.brokers[0].nodeId), ids);
    assert.equal(conn.inFlight, 0);
  } finally {
    conn.close();
    await broker.close();
  }
});

Deno.test("Connection times out a request with REQUEST_TIMED_OUT and fails the others", async () => {
  const broker = fakeBroker(VERSIONS, () => "ignore");
  const conn = await Connection.connect({
    host: "127.0.0.1",
    port: broker.port,
    requestTimeoutMs: 150,
  });
  try {
    const first = conn.send(metadataApi, MetadataRequest.create({ topics: null }));
    const second = conn.send(metadataApi, MetadataRequest.create({ topics: null }), {
      timeoutMs: 60_000,
    });
    await assert.rejects(first, (e: unknown) => {
      assert.ok(e instanceof KafkaError);
      assert.equal(e.errorName, "REQUEST_TIMED_OUT");
      assert.match(e.message, /^MetadataRequest v7 to 127\.0\.0\.1:\d+: no response within 150 ms/);
      return true;
    });
    await assert.rejects(second, (e: unknown) => {
      assert.ok(e instanceof KafkaError);
      assert.equal(e.errorName, "NETWORK_EXCEPTION");
      assert.match(e.message, /connection lost/);
      return true;
    });
    assert.equal(conn.closed, true);
    await assert.rejects(
      conn.send(metadataApi, MetadataRequest.create({ topics: null })),
      { name: "KafkaError" },
    );
  } finally {
    conn.close();
    await broker.close();
  }
});

Deno.test("Connection reports a broker that hangs up as NETWORK_EXCEPTION", async () => {
  const broker = fakeBroker(VERSIONS, () => "close");
  const conn = await Connection.connect({ host: "127.0.0.1", port: broker.port });
  try {
    await assert.rejects(
      conn.send(metadataApi, MetadataRequest.create({ topics: null })),
      (e: unknown) => {
        assert.ok(e instanceof KafkaError);
        assert.equal(e.errorName, "NETWORK_EXCEPTION");
        assert.match(e.message, /closed by the broker/);
        return true;
      },
    );
  } finally {
    conn.close();
    await broker.close();
  }
});

Deno.test("Connection.connect() to a closed port fails with NETWORK_EXCEPTION", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await assert.rejects(Connection.connect({ host: "127.0.0.1", port }), (e: unknown) => {
    assert.ok(e instanceof KafkaError);
    assert.equal(e.errorName, "NETWORK_EXCEPTION");
    assert.match(e.message, new RegExp(`^connect to 127\\.0\\.0\\.1:${port}: `));
    return true;
  });
});

Deno.test("Connection rejects a response that cannot be decoded with CORRUPT_MESSAGE", async () => {
  const broker = fakeBroker(VERSIONS, (req) => {
    const frame = new Uint8Array(4 + 4 + 3);
    const v = new DataView(frame.buffer);
    v.setInt32(0, 7);
    v.setInt32(4, req.correlationId);
    return [frame];
  });
  const conn = await Connection.connect({ host: "127.0.0.1", port: broker.port });
  try {
    await assert.rejects(
      conn.send(metadataApi, MetadataRequest.create({ topics: null })),
      (e: unknown) => {
        assert.ok(e instanceof KafkaError);
        assert.equal(e.errorName, "CORRUPT_MESSAGE");
        assert.match(
          e.message,
          /^MetadataRequest v7 from 127\.0\.0\.1:\d+: cannot decode response/,
        );
        return true;
      },
    );
  } finally {
    conn.close();
    await broker.close();
  }
});

Deno.test("Connection falls back when the broker rejects its ApiVersions version", async () => {
  const broker = fakeBroker([[18, 0, 2], [3, 0, 12]], metadataReply, 2);
  const conn = await Connection.connect({ host: "127.0.0.1", port: broker.port });
  try {
    assert.deepEqual(broker.seen.map((r) => [r.apiKey, r.version]), [[18, 3], [18, 2]]);
    assert.equal(conn.versionFor(MetadataRequest), 12);
    const res = await conn.send(metadataApi, MetadataRequest.create({ topics: null }));
    assert.equal(res.controllerId, 1);
  } finally {
    conn.close();
    await broker.close();
  }
});

Deno.test("Connection to a non-Kafka server fails cleanly with NETWORK_EXCEPTION", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const served = (async () => {
    const conn = await listener.accept();
    await conn.read(new Uint8Array(1024));
    await conn.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
    return conn;
  })();
  try {
    await assert.rejects(Connection.connect({ host: "127.0.0.1", port }), (e: unknown) => {
      assert.ok(e instanceof KafkaError);
      assert.equal(e.errorName, "NETWORK_EXCEPTION");
      assert.match(e.message, /invalid frame size 1213486160/);
      return true;
    });
  } finally {
    (await served).close();
    listener.close();
  }
});
