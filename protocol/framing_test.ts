// Copyright 2026 the Sluice authors. Apache-2.0 license.

import assert from "node:assert/strict";
import { ProtocolError } from "./errors.ts";
import {
  concat,
  decodeBody,
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestFrame,
  encodeResponseFrame,
  FrameSplitter,
} from "./framing.ts";
import { requestHeaderVersion, responseHeaderVersion } from "./messages/headers.ts";
import { ControlledShutdownRequest } from "./messages/controlled_shutdown.ts";
import { FetchResponse } from "./messages/fetch.ts";
import { ProduceRequest } from "./messages/produce.ts";
import { ApiKey } from "./apis.ts";

Deno.test("header versions follow flexibility, with the ApiVersions and ControlledShutdown quirks", () => {
  assert.equal(requestHeaderVersion(ApiKey.Produce, 8), 1);
  assert.equal(requestHeaderVersion(ApiKey.Produce, 9), 2);
  assert.equal(responseHeaderVersion(ApiKey.Produce, 8), 0);
  assert.equal(responseHeaderVersion(ApiKey.Produce, 9), 1);
  assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
  assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 4), 2); // future versions too
  assert.equal(responseHeaderVersion(ApiKey.ApiVersions, 3), 0); // always v0
  assert.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 0), 0);
  assert.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 1), 1);
  assert.equal(requestHeaderVersion(ApiKey.SaslHandshake, 1), 1); // never flexible
  assert.equal(requestHeaderVersion(9999, 0), 1); // unknown key
});

Deno.test("ControlledShutdown v0 request uses header v0 (no client id)", () => {
  const m = ControlledShutdownRequest.create({ brokerId: 3 });
  const frame = encodeRequestFrame(ControlledShutdownRequest, 0, 11, "ignored", m);
  assert.deepStrictEqual(frame, new Uint8Array([0, 0, 0, 12, 0, 7, 0, 0, 0, 0, 0, 11, 0, 0, 0, 3]));
  const { header, headerVersion, bodyOffset } = decodeRequestHeader(frame, 4);
  assert.equal(headerVersion, 0);
  assert.equal(header.clientId, ""); // the field default: header v0 has no client id
  assert.equal(bodyOffset, 12);
  assert.equal(decodeBody(ControlledShutdownRequest, frame, bodyOffset, 0).brokerId, 3);
});

Deno.test("response frame: size prefix covers header and referenced records", () => {
  const records = new Uint8Array(10000).fill(1);
  const m = FetchResponse.create({
    responses: [{
      topic: "",
      topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
      partitions: [{
        partitionIndex: 0,
        errorCode: 0,
        highWatermark: 5,
        lastStableOffset: 5,
        logStartOffset: 0,
        divergingEpoch: { epoch: -1, endOffset: -1 },
        currentLeader: { leaderId: -1, leaderEpoch: -1 },
        snapshotId: { endOffset: -1, epoch: -1 },
        abortedTransactions: [],
        preferredReadReplica: -1,
        records,
      }],
    }],
  });
  const chunks = encodeResponseFrame(FetchResponse, 16, 77, m);
  assert.equal(chunks.length, 3);
  assert.equal(chunks[1], records);
  const frame = concat(chunks);
  const total = frame.length;
  assert.equal(new DataView(frame.buffer).getInt32(0), total - 4);
  const splitter = new FrameSplitter();
  const [payload] = splitter.push(frame);
  const { header, bodyOffset } = decodeResponseHeader(payload, ApiKey.Fetch, 16);
  assert.equal(header.correlationId, 77);
  assert.equal(bodyOffset, 5); // int32 + empty tag buffer (header v1)
  assert.deepStrictEqual(decodeBody(FetchResponse, payload, bodyOffset, 16), m);
});

Deno.test("a frame over 2^31-1 bytes is refused, not sent with a negative size prefix", () => {
  // 2,100 references to one 1 MiB payload: 2.05 GiB of frame, nothing copied.
  const records = new Uint8Array(1 << 20);
  const partition = {
    partitionIndex: 0,
    errorCode: 0,
    highWatermark: 5,
    lastStableOffset: 5,
    logStartOffset: 0,
    divergingEpoch: { epoch: -1, endOffset: -1 },
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
    snapshotId: { endOffset: -1, epoch: -1 },
    abortedTransactions: [],
    preferredReadReplica: -1,
    records,
  };
  const m = FetchResponse.create({
    responses: [{
      topic: "",
      topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
      partitions: Array.from({ length: 2100 }, () => partition),
    }],
  });
  assert.throws(
    () => encodeResponseFrame(FetchResponse, 16, 1, m),
    (e) =>
      e instanceof ProtocolError && /frame of \d+ bytes is larger than 2147483647/.test(e.message),
  );
  // Just under the limit it is encoded.
  const fits = FetchResponse.create({
    responses: [{
      topic: "",
      topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
      partitions: Array.from({ length: 2047 }, () => partition),
    }],
  });
  const chunks = encodeResponseFrame(FetchResponse, 16, 1, fits);
  const first = chunks[0];
  assert.ok(new DataView(first.buffer, first.byteOffset).getInt32(0) > 2047 * (1 << 20));
});

Deno.test("FrameSplitter reassembles frames split at every byte boundary", () => {
  const frames = [1, 2, 3].map((i) =>
    encodeRequestFrame(
      ProduceRequest,
      9,
      i,
      "c",
      ProduceRequest.create({
        acks: 1,
        topicData: [{ name: `t${i}`, partitionData: [{ index: i, records: new Uint8Array(i) }] }],
      }),
    )
  );
  const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of frames) {
    stream.set(f, o);
    o += f.length;
  }
  for (let step = 1; step <= stream.length; step++) {
    const s = new FrameSplitter();
    const got: Uint8Array[] = [];
    for (let p = 0; p < stream.length; p += step) got.push(...s.push(stream.slice(p, p + step)));
    assert.equal(got.length, 3, `step ${step}`);
    got.forEach((g, i) => assert.deepStrictEqual(g, frames[i].subarray(4), `step ${step}`));
    assert.equal(s.buffered, 0);
  }
  // Whole frames in one chunk come back as zero-copy views.
  const [first] = new FrameSplitter().push(frames[0]);
  assert.equal(first.buffer, frames[0].buffer);
});

Deno.test("FrameSplitter refuses negative and oversized sizes", () => {
  assert.throws(
    () => new FrameSplitter().push(new Uint8Array([255, 255, 255, 255])),
    ProtocolError,
  );
  assert.throws(
    () => new FrameSplitter(100).push(new Uint8Array([0, 0, 0, 101])),
    /invalid frame size 101: must be 0-100/,
  );
  assert.deepStrictEqual(new FrameSplitter().push(new Uint8Array([0, 0, 0, 0])), [
    new Uint8Array(0),
  ]);
});

Deno.test("decodeRequestHeader refuses short or malformed headers", () => {
  assert.throws(() => decodeRequestHeader(new Uint8Array([0, 18, 0, 3])), /truncated/);
  // header v2 with a client id length running past the end
  assert.throws(
    () => decodeRequestHeader(new Uint8Array([0, 18, 0, 3, 0, 0, 0, 1, 0, 50, 65])),
    ProtocolError,
  );
});

Deno.test("concat: a lone chunk that starts its buffer is returned itself; anything else is copied", () => {
  const whole = new Uint8Array([1, 2, 3]);
  assert.equal(concat([whole]), whole);
  const view = new Uint8Array([9, 1, 2, 3]).subarray(1);
  const copied = concat([view]);
  assert.notEqual(copied, view);
  assert.equal(copied.byteOffset, 0);
  assert.deepEqual([...copied], [1, 2, 3]);
  const two = concat([whole, view]);
  assert.deepEqual([...two], [1, 2, 3, 1, 2, 3]);
  two[0] = 7; // a copy: writing into it leaves the chunks alone
  assert.equal(whole[0], 1);
  assert.deepEqual([...concat([])], []);
  assert.deepEqual([...concat([new Uint8Array(0), whole.subarray(2)])], [3]);
});
