// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { setPartitionLeaderEpochAt } from "../records/mod.ts";
import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import { MetadataRequest, MetadataResponse } from "../protocol/messages/metadata.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { FetchRequest, FetchResponse } from "../protocol/messages/fetch.ts";
import { ListOffsetsRequest, ListOffsetsResponse } from "../protocol/messages/list_offsets.ts";
import { ListGroupsRequest, ListGroupsResponse } from "../protocol/messages/list_groups.ts";
import { OffsetFetchRequest, OffsetFetchResponse } from "../protocol/messages/offset_fetch.ts";
import { encodeRequestFrame } from "../protocol/framing.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { buildBatch } from "../wasm/testing.ts";
import { Broker } from "./broker.ts";
import { silentLogger } from "./logger.ts";
import { RawClient, startTestBroker } from "./testing.ts";

const AV = { clientSoftwareName: "sluice-test", clientSoftwareVersion: "1" };

function produceBody(topic: string, partition: number, records: Uint8Array, acks = 1) {
  return {
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  };
}

function fetchBody(topic: string, partition: number, fetchOffset: number, maxWaitMs = 0) {
  return {
    replicaId: -1,
    maxWaitMs,
    minBytes: 1,
    maxBytes: 1 << 20,
    sessionEpoch: -1,
    topics: [{
      topic,
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      partitions: [{
        partition,
        currentLeaderEpoch: -1,
        fetchOffset,
        lastFetchedEpoch: -1,
        logStartOffset: -1,
        partitionMaxBytes: 1 << 20,
        replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
      }],
    }],
  };
}

Deno.test("Broker: pipelined requests are answered in request order", async () => {
  await using t = await startTestBroker();
  const client = await RawClient.connect(t.broker.port);
  try {
    // More requests than the read-ahead queue holds, of two APIs, written before reading any.
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 50; i++) {
      frames.push(
        i % 2 === 0
          ? encodeRequestFrame(ApiVersionsRequest, 3, 100 + i, "c", ApiVersionsRequest.create(AV))
          : encodeRequestFrame(
            MetadataRequest,
            12,
            100 + i,
            "c",
            MetadataRequest.create({ topics: null }),
          ),
      );
    }
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let o = 0;
    for (const f of frames) {
      all.set(f, o);
      o += f.length;
    }
    await client.sendRaw(all);
    for (let i = 0; i < 50; i++) {
      const got = i % 2 === 0
        ? await client.receive(ApiVersionsResponse, 3)
        : await client.receive(MetadataResponse, 12);
      assertEquals(got.correlationId, 100 + i);
    }
  } finally {
    client.close();
  }
});

Deno.test("Broker: acks=0 Produce gets no response; the next response is the next request's", async () => {
  await using t = await startTestBroker();
  const client = await RawClient.connect(t.broker.port);
  try {
    await client.request(MetadataRequest, MetadataResponse, 12, {
      topics: [{ name: "zero", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
    });
    const batch = buildBatch({
      records: [{ key: "k", value: "fire-and-forget" }],
      baseTimestamp: 1,
    });
    const produceId = await client.send(ProduceRequest, 9, produceBody("zero", 0, batch, 0));
    const listId = await client.send(ListOffsetsRequest, 8, {
      replicaId: -1,
      topics: [{
        name: "zero",
        partitions: [{
          partitionIndex: 0,
          timestamp: -1,
          currentLeaderEpoch: -1,
          maxNumOffsets: 1,
        }],
      }],
    });
    const got = await client.receive(ListOffsetsResponse, 8);
    assertEquals(got.correlationId, listId);
    ok(got.correlationId !== produceId);
    // The acks=0 record was stored before the ListOffsets ran (one request at a time).
    assertEquals(got.body.topics[0].partitions[0].offset, 1);
  } finally {
    client.close();
  }
});

Deno.test("Broker: a frame over socket.request.max.bytes closes that connection only", async () => {
  await using t = await startTestBroker({ socketRequestMaxBytes: 1000 });
  const bad = await RawClient.connect(t.broker.port);
  const good = await RawClient.connect(t.broker.port);
  try {
    const frame = new Uint8Array(4 + 2000);
    new DataView(frame.buffer).setInt32(0, 2000);
    await bad.sendRaw(frame.subarray(0, 4));
    await bad.expectClosed();
    ok(
      t.lines.some((l) =>
        l.startsWith("ERROR Closing connection") &&
        l.includes("request size 2000 is larger than socket.request.max.bytes (1000)")
      ),
      t.lines.join("\n"),
    );
    const res = await good.request(ApiVersionsRequest, ApiVersionsResponse, 3, AV);
    assertEquals(res.errorCode, 0);
  } finally {
    bad.close();
    good.close();
  }
});

Deno.test("Broker: garbage, negative sizes, unknown API keys and bad bodies close the connection", async () => {
  await using t = await startTestBroker();
  const cases: [string, Uint8Array][] = [
    ["negative size", new Uint8Array([0xff, 0xff, 0xff, 0xf0, 1, 2, 3])],
    ["too short for a header", new Uint8Array([0, 0, 0, 3, 1, 2, 3])],
    ["unknown API key", new Uint8Array([0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0, 0])],
    [
      "truncated body",
      (() => {
        const f = encodeRequestFrame(
          MetadataRequest,
          1,
          5,
          "c",
          MetadataRequest.create({ topics: [{ name: "abc", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }] }),
        );
        const cut = f.slice(0, f.length - 2);
        new DataView(cut.buffer).setInt32(0, cut.length - 4);
        return cut;
      })(),
    ],
    ["ascii garbage", new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")],
  ];
  for (const [name, bytes] of cases) {
    const c = await RawClient.connect(t.broker.port);
    try {
      await c.sendRaw(bytes);
      await c.expectClosed();
    } catch (e) {
      throw new Error(`${name}: ${e}`);
    } finally {
      c.close();
    }
  }
  const errors = t.lines.filter((l) => l.startsWith("ERROR Closing connection"));
  ok(errors.some((l) => l.includes("invalid request size -16: negative")), errors.join("\n"));
  ok(errors.some((l) => l.includes("too short for a request header")), errors.join("\n"));
  ok(errors.some((l) => l.includes("unknown API key 32512")), errors.join("\n"));
  ok(errors.some((l) => l.includes("malformed Metadata v1 request")), errors.join("\n"));
  // "GET " as a size is 1195725856 bytes: over the limit.
  ok(errors.some((l) => l.includes("request size 1195725856 is larger")), errors.join("\n"));
  // The broker still serves.
  const c = await RawClient.connect(t.broker.port);
  try {
    assertEquals((await c.request(ApiVersionsRequest, ApiVersionsResponse, 0, {})).errorCode, 0);
  } finally {
    c.close();
  }
});

Deno.test("Broker: a decodable version above our range gets UNSUPPORTED_VERSION in the API's response", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    // Fetch v17 is in the codec but above what we serve (v16).
    const res = await c.request(FetchRequest, FetchResponse, 17, fetchBody("t", 0, 0));
    assertEquals(res.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    ok(t.lines.some((l) => l.includes("Fetch v17") && l.includes("UNSUPPORTED_VERSION")));
    // A version the codec cannot decode closes the connection.
    const frame = encodeRequestFrame(MetadataRequest, 12, 9, "c", MetadataRequest.create({}));
    new DataView(frame.buffer).setInt16(6, 13);
    await c.sendRaw(frame);
    await c.expectClosed();
    ok(t.lines.some((l) => l.includes("Metadata v13 cannot be decoded")));
  } finally {
    c.close();
  }
});

Deno.test("Broker: data and cluster id survive a restart; close() is idempotent", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const batch = buildBatch({ records: [{ key: "a", value: "persisted" }], baseTimestamp: 5 });
    let clusterId: string;
    {
      const lines: string[] = [];
      const log = (m: string) => lines.push(m);
      const broker = await Broker.start({
        listeners: "PLAINTEXT://127.0.0.1:0",
        logDirs: [dir],
        numPartitions: 2,
        logger: { debug: log, info: log, warn: log, error: log },
      });
      const c = await RawClient.connect(broker.port);
      const md = await c.request(MetadataRequest, MetadataResponse, 12, {
        topics: [{ name: "keep", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
      });
      clusterId = md.clusterId!;
      assertEquals(md.topics[0].partitions.length, 2);
      const p = await c.request(ProduceRequest, ProduceResponse, 9, produceBody("keep", 1, batch));
      assertEquals(p.responses[0].partitionResponses[0].errorCode, 0);
      c.close();
      await Promise.all([broker.close(), broker.close()]);
      ok(lines.some((l) => l.includes("stopped; logs flushed")));
      await broker.close();
    }
    {
      const broker = await Broker.start({
        listeners: "PLAINTEXT://127.0.0.1:0",
        logDirs: [dir],
        logLevel: "silent",
      });
      try {
        assertEquals(broker.config.clusterId, clusterId);
        const c = await RawClient.connect(broker.port);
        const f = await c.request(FetchRequest, FetchResponse, 12, fetchBody("keep", 1, 0));
        const part = f.responses[0].partitions[0];
        assertEquals(part.errorCode, 0);
        assertEquals(part.highWatermark, 1);
        assertEquals(part.records!.length, batch.length);
        const stored = batch.slice();
        setPartitionLeaderEpochAt(stored, 0, 0); // the leader's epoch, as Kafka stamps it
        assertEquals(part.records, stored);
        c.close();
      } finally {
        await broker.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Broker.start refuses bad listeners and a busy port with clear errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await rejects(
      Broker.start({ listeners: "SSL://localhost:9093", logDirs: [dir], logLevel: "silent" }),
      /listener SSL: an SSL listener needs a key and certificate/,
    );
    await rejects(
      Broker.start({ listeners: "EXTERNAL://:0", logDirs: [dir], logLevel: "silent" }),
      /listener EXTERNAL has no security protocol/,
    );
    await using t = await startTestBroker();
    await rejects(
      Broker.start({
        listeners: `PLAINTEXT://127.0.0.1:${t.broker.port}`,
        logDirs: [dir],
        logLevel: "silent",
      }),
      new RegExp(`Cannot listen on 127.0.0.1:${t.broker.port}`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Broker: responses before a refused request still arrive, then the connection closes", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const good = encodeRequestFrame(ApiVersionsRequest, 3, 41, "c", ApiVersionsRequest.create(AV));
    const unknownKey = new Uint8Array([0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 42, 0, 0]);
    const both = new Uint8Array(good.length + unknownKey.length);
    both.set(good);
    both.set(unknownKey, good.length);
    await c.sendRaw(both);
    const got = await c.receive(ApiVersionsResponse, 3);
    assertEquals([got.correlationId, got.body.errorCode], [41, 0]);
    await c.expectClosed();
  } finally {
    c.close();
  }
});

Deno.test("requests with bytes after their last field are served, as Kafka serves them", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const withTrailing = (frame: Uint8Array, extra: number): Uint8Array => {
      // What recent librdkafka sends: the declared fields, then `extra` more bytes.
      const out = new Uint8Array(frame.length + extra);
      out.set(frame);
      new DataView(out.buffer).setInt32(0, frame.length - 4 + extra);
      return out;
    };
    // Metadata v12 (librdkafka 2.15: 3 bytes), ListGroups v4 (librdkafka 2.0.2: 1 byte),
    // OffsetFetch v7 for all partitions (librdkafka 2.0.2: 3 bytes)
    await c.sendRaw(withTrailing(
      encodeRequestFrame(
        MetadataRequest,
        12,
        1,
        "rdkafka",
        MetadataRequest.create({ topics: null }),
      ),
      3,
    ));
    const md = await c.receive(MetadataResponse, 12);
    assertEquals([md.correlationId, md.body.brokers.length], [1, 1]);
    await c.sendRaw(withTrailing(
      encodeRequestFrame(ListGroupsRequest, 4, 2, "rdkafka", ListGroupsRequest.create({})),
      1,
    ));
    const lg = await c.receive(ListGroupsResponse, 4);
    assertEquals([lg.correlationId, lg.body.errorCode], [2, 0]);
    await c.sendRaw(withTrailing(
      encodeRequestFrame(
        OffsetFetchRequest,
        7,
        3,
        "rdkafka",
        OffsetFetchRequest.create({ groupId: "g", topics: null, requireStable: true }),
      ),
      3,
    ));
    const of = await c.receive(OffsetFetchResponse, 7);
    assertEquals([of.correlationId, of.body.errorCode, of.body.topics], [3, 0, []]);
  } finally {
    c.close();
  }
});

/** A `sluice broker` child process whose log lines are collected as they arrive. */
interface ChildBroker {
  child: Deno.ChildProcess;
  lines: string[];
  port: number;
  /** Resolves once stderr ends. */
  drained: Promise<void>;
}

/** Polls until some line matches `re`; the 60 s bound only protects against a hang. */
async function waitForLine(lines: string[], re: RegExp, what: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const line = lines.find((l) => re.test(l));
    if (line !== undefined) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}; log:\n${lines.join("\n")}`);
}

/** Run `sluice broker` with at most `nofile` open file descriptors (`ulimit -n`). */
async function spawnLimitedBroker(dir: string, nofile: number): Promise<ChildBroker> {
  const main = new URL("../cli/main.ts", import.meta.url).pathname;
  const command = [
    Deno.execPath(),
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    main,
    "broker",
    "--listeners",
    "PLAINTEXT://127.0.0.1:0",
    "--log-dirs",
    dir,
    "--override",
    "offsets.topic.num.partitions=1",
  ].map((a) => `'${a}'`).join(" ");
  const child = new Deno.Command("sh", {
    args: ["-c", `ulimit -n ${nofile} && exec ${command}`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const drained = (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
    }
    if (rest !== "") lines.push(rest);
  })();
  const listening = await waitForLine(lines, /listening on 127\.0\.0\.1:\d+/, "the broker");
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(listening)![1]);
  return { child, lines, port, drained };
}

Deno.test("Broker: out of file descriptors, accept backs off with a bounded log and recovers by itself", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-emfile-" });
  const b = await spawnLimitedBroker(dir, 64);
  const conns: Deno.TcpConn[] = [];
  try {
    // Each accepted connection takes a descriptor; past the limit, connections wait in the
    // kernel's backlog and accept fails with EMFILE.
    for (let i = 0; i < 100; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: b.port }));
    }
    await waitForLine(b.lines, /Accepting a connection failed: Too many open files/, "EMFILE");
    // Keep it failing for a while: a busy loop would log (and spin) tens of thousands of times.
    await new Promise((r) => setTimeout(r, 3000));
    const failing = b.lines.filter((l) => l.includes("Accepting a connection failed"));
    assertEquals(failing.length, 1, failing.slice(0, 5).join("\n"));
    ok(/retrying in 5 ms, backing off up to 1000 ms/.test(failing[0]), failing[0]);

    // Free the descriptors: the broker accepts again by itself and serves a new client.
    const freedAt = performance.now();
    for (const c of conns.splice(0)) c.close();
    const recovered = await waitForLine(b.lines, /Accepting connections again/, "the recovery");
    const attempts = Number(/after (\d+) failed attempts/.exec(recovered)?.[1]);
    // Back-off: ~5 ms doubling to 1 s gives about a dozen attempts in those seconds.
    ok(attempts >= 2 && attempts <= 50, recovered);
    const client = await RawClient.connect(b.port);
    const av = await client.request(ApiVersionsRequest, ApiVersionsResponse, 3, AV);
    const servedMs = performance.now() - freedAt;
    client.close();
    assertEquals(av.errorCode, 0);
    console.log(
      `  ${attempts} failed accepts in ~3 s; a new client served ${servedMs.toFixed(0)} ms after ` +
        `the descriptors were freed`,
    );
    const accepting = b.lines.filter((l) => l.includes("Accepting"));
    assertEquals(accepting.length, 2, accepting.join("\n"));
  } finally {
    for (const c of conns) c.close();
    b.child.kill("SIGTERM");
    const status = await b.child.status;
    await b.drained;
    await Deno.remove(dir, { recursive: true });
    assertEquals(status.code, 0, b.lines.slice(-20).join("\n"));
  }
});

Deno.test("Broker: cluster mode refuses a SASL inter-broker listener without its own credentials, before it opens anything", async () => {
  const dir = await Deno.makeTempDir();
  const jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required ";
  const base = {
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    etcdEndpoints: ["http://127.0.0.1:1"],
    logger: silentLogger,
  };
  try {
    // Kafka's default mechanism, GSSAPI, is not implemented
    await rejects(
      Broker.start(base),
      /inter-broker listener SASL_PLAINTEXT is SASL_PLAINTEXT, and sasl.mechanism.inter.broker.protocol is GSSAPI: set it to one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/,
    );
    // the mechanism must be enabled on the listener
    await rejects(
      Broker.start({
        ...base,
        saslEnabledMechanisms: ["PLAIN"],
        saslMechanismInterBrokerProtocol: "SCRAM-SHA-512",
      }),
      /SCRAM-SHA-512 is not enabled on the inter-broker listener SASL_PLAINTEXT \(its sasl.enabled.mechanisms: PLAIN\)/,
    );
    // no JAAS entry, or one without username/password
    await rejects(
      Broker.start({ ...base, saslMechanismInterBrokerProtocol: "SCRAM-SHA-512" }),
      /listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config is not set/,
    );
    await rejects(
      Broker.start({
        ...base,
        saslMechanismInterBrokerProtocol: "SCRAM-SHA-512",
        saslJaasConfigs: { "sasl_plaintext.scram-sha-512": `${jaas}username="broker";` },
      }),
      /sasl.jaas.config has no username="..." password="..." options/,
    );
    assertEquals([...Deno.readDirSync(dir)], []); // nothing opened, not even the lock
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
