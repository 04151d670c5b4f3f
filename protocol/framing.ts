// Copyright 2026 the Sluice authors. Apache-2.0 license.

/**
 * Kafka frames: a 4-byte big-endian size, then a request or response header, then the body.
 * Shared by the broker (decode requests, encode responses) and the client (the reverse).
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import {
  RequestHeader,
  requestHeaderVersion,
  ResponseHeader,
  responseHeaderVersion,
} from "./messages/headers.ts";
import { type MessageCodec, Reader, Writer } from "./primitives.ts";

/** Kafka's default `socket.request.max.bytes` (100 MiB), the default frame size limit. */
export const DEFAULT_MAX_FRAME_SIZE = 104857600;

/**
 * Writes a complete request frame (size, header, body) to `w`.
 *
 * @param w The writer (may already hold other frames).
 * @param codec The request codec (its `apiKey` goes in the header).
 * @param version The API version.
 * @param correlationId The correlation id echoed by the response.
 * @param clientId The client id (`null` allowed; dropped by header v0).
 * @param body The request.
 * @throws {ProtocolError} If the body cannot be encoded in `version`, or the frame would be
 * larger than 2^31-1 bytes.
 */
export function writeRequestFrame<T>(
  w: Writer,
  codec: MessageCodec<T>,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: T,
): void {
  const start = w.length;
  w.writeInt32(0);
  RequestHeader.write(w, {
    requestApiKey: codec.apiKey,
    requestApiVersion: version,
    correlationId,
    clientId,
  }, requestHeaderVersion(codec.apiKey, version));
  codec.write(w, body, version);
  w.setInt32At(start, frameSize(codec, version, w.length - start - 4));
}

/** Largest frame a 4-byte signed size prefix can announce. */
const MAX_FRAME_SIZE = 0x7fffffff;

function frameSize(codec: MessageCodec<unknown>, version: number, size: number): number {
  if (size > MAX_FRAME_SIZE) {
    throw new ProtocolError(
      `cannot encode ${codec.name} v${version}: frame of ${size} bytes is larger than ${MAX_FRAME_SIZE}`,
    );
  }
  return size;
}

/**
 * Encodes a complete request frame (size, header, body).
 *
 * @param codec The request codec.
 * @param version The API version.
 * @param correlationId The correlation id.
 * @param clientId The client id.
 * @param body The request.
 * @returns The frame bytes, ready to write to a socket.
 * @throws {ProtocolError} If the body cannot be encoded in `version`.
 *
 * @example
 * ```ts
 * import { encodeRequestFrame } from "./framing.ts";
 * import { ApiVersionsRequest } from "./messages/api_versions.ts";
 *
 * const frame = encodeRequestFrame(ApiVersionsRequest, 0, 1, "me", ApiVersionsRequest.create());
 * console.log(frame.length); // 16
 * ```
 */
export function encodeRequestFrame<T>(
  codec: MessageCodec<T>,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: T,
): Uint8Array {
  const w = new Writer(256);
  writeRequestFrame(w, codec, version, correlationId, clientId, body);
  return w.finish();
}

/**
 * Writes a complete response frame (size, header, body) to `w`. The header version follows
 * {@linkcode responseHeaderVersion} (ApiVersions always v0).
 *
 * @param w The writer.
 * @param codec The response codec.
 * @param version The API version of the request being answered.
 * @param correlationId The request's correlation id.
 * @param body The response.
 * @throws {ProtocolError} If the body cannot be encoded in `version`, or the frame would be
 * larger than 2^31-1 bytes.
 */
export function writeResponseFrame<T>(
  w: Writer,
  codec: MessageCodec<T>,
  version: number,
  correlationId: number,
  body: T,
): void {
  const start = w.length;
  w.writeInt32(0);
  ResponseHeader.write(w, { correlationId }, responseHeaderVersion(codec.apiKey, version));
  codec.write(w, body, version);
  w.setInt32At(start, frameSize(codec, version, w.length - start - 4));
}

/**
 * Encodes a complete response frame as chunks: record payloads of at least 4 KiB are referenced,
 * not copied, so write the chunks to the socket in order (e.g. with `writev`-style loops).
 *
 * @param codec The response codec.
 * @param version The API version.
 * @param correlationId The request's correlation id.
 * @param body The response.
 * @param into A buffer to encode into while it has room (the chunks are then views of it, valid
 * while nothing else is written into it); default a new one.
 * @returns The frame as chunks.
 * @throws {ProtocolError} If the body cannot be encoded in `version`.
 *
 * @example
 * ```ts
 * import { encodeResponseFrame } from "./framing.ts";
 * import { ApiVersionsResponse } from "./messages/api_versions.ts";
 *
 * const chunks = encodeResponseFrame(ApiVersionsResponse, 3, 1, ApiVersionsResponse.create());
 * console.log(chunks.length); // 1
 * const scratch = new Uint8Array(1024);
 * const again = encodeResponseFrame(ApiVersionsResponse, 3, 2, ApiVersionsResponse.create(), scratch);
 * console.log(again[0].buffer === scratch.buffer); // true
 * ```
 */
export function encodeResponseFrame<T>(
  codec: MessageCodec<T>,
  version: number,
  correlationId: number,
  body: T,
  into?: Uint8Array<ArrayBuffer>,
): Uint8Array[] {
  const w = new Writer(into ?? 1024);
  writeResponseFrame(w, codec, version, correlationId, body);
  return w.chunks();
}

/** A decoded request header and where the body starts. */
export interface DecodedRequestHeader {
  /** The header fields (`clientId` is `""`, its default, for header v0). */
  header: RequestHeader;
  /** The header version used (0, 1 or 2). */
  headerVersion: number;
  /** Offset of the request body in the frame. */
  bodyOffset: number;
}

/**
 * Decodes the request header at the start of a frame payload (the bytes after the size prefix).
 * The header version is chosen from the API key and version; unknown API keys are read as v1.
 *
 * @param frame The frame payload.
 * @param offset Where the payload starts in `frame` (default 0).
 * @returns The header, its version and the body offset.
 * @throws {ProtocolError} If the header is truncated or malformed.
 *
 * @example
 * ```ts
 * import { decodeRequestHeader, encodeRequestFrame } from "./framing.ts";
 * import { ApiVersionsRequest } from "./messages/api_versions.ts";
 *
 * const frame = encodeRequestFrame(ApiVersionsRequest, 0, 7, "me", ApiVersionsRequest.create());
 * const { header, bodyOffset } = decodeRequestHeader(frame, 4);
 * console.log(header.correlationId, bodyOffset); // 7 16
 * ```
 */
export function decodeRequestHeader(frame: Uint8Array, offset = 0): DecodedRequestHeader {
  const r = new Reader(frame, offset);
  if (r.remaining < 8) {
    throw new ProtocolError(
      `truncated: need 8 bytes at offset ${offset} for a request header, only ${r.remaining} remain`,
    );
  }
  const apiKey = r.view.getInt16(offset);
  const apiVersion = r.view.getInt16(offset + 2);
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  const header = RequestHeader.read(r, headerVersion);
  return { header, headerVersion, bodyOffset: r.pos };
}

/**
 * Decodes the response header at the start of a frame payload.
 *
 * @param frame The frame payload (after the size prefix).
 * @param apiKey The API key of the request this answers.
 * @param apiVersion The API version of that request.
 * @param offset Where the payload starts in `frame` (default 0).
 * @returns The header and the body offset.
 * @throws {ProtocolError} If the header is truncated or malformed.
 */
export function decodeResponseHeader(
  frame: Uint8Array,
  apiKey: number,
  apiVersion: number,
  offset = 0,
): { header: ResponseHeader; bodyOffset: number } {
  const r = new Reader(frame, offset);
  const header = ResponseHeader.read(r, responseHeaderVersion(apiKey, apiVersion));
  return { header, bodyOffset: r.pos };
}

/**
 * Decodes a message body that must end exactly at the end of the frame.
 *
 * @param codec The message codec.
 * @param frame The frame payload.
 * @param bodyOffset Where the body starts.
 * @param version The API version.
 * @returns The message.
 * @throws {ProtocolError} On malformed input or trailing bytes.
 */
export function decodeBody<T>(
  codec: MessageCodec<T>,
  frame: Uint8Array,
  bodyOffset: number,
  version: number,
): T {
  const r = new Reader(frame, bodyOffset);
  const m = codec.read(r, version);
  if (r.remaining !== 0) {
    throw new ProtocolError(
      `invalid ${codec.name} v${version}: ${r.remaining} trailing bytes after offset ${r.pos}`,
    );
  }
  return m;
}

/** A request body read by {@linkcode decodeRequestBody}. */
export interface DecodedRequestBody<T> {
  /** The message. */
  message: T;
  /** Bytes after the last declared field, which were ignored (0 for a well-formed request). */
  trailingBytes: number;
}

/**
 * Decodes a request body the way Kafka's broker does: the declared fields are read and anything
 * after them is ignored. Recent librdkafka versions send bytes past the end of some requests
 * (Metadata v12, ListGroups v4, OffsetFetch v7), which Kafka serves.
 *
 * @example
 * ```ts
 * import { decodeRequestBody } from "./framing.ts";
 * import { ApiVersionsRequest } from "./messages/api_versions.ts";
 * import { encodeMessage } from "./primitives.ts";
 *
 * const body = encodeMessage(ApiVersionsRequest, ApiVersionsRequest.create({}), 3);
 * const frame = new Uint8Array([...body, 0, 0, 0]);
 * const { trailingBytes } = decodeRequestBody(ApiVersionsRequest, frame, 0, 3);
 * console.assert(trailingBytes === 3);
 * ```
 *
 * @param codec The message codec.
 * @param frame The frame payload.
 * @param bodyOffset Where the body starts.
 * @param version The API version.
 * @returns The message and the number of ignored trailing bytes.
 * @throws {ProtocolError} On malformed input (a field cut off, a bad length).
 */
export function decodeRequestBody<T>(
  codec: MessageCodec<T>,
  frame: Uint8Array,
  bodyOffset: number,
  version: number,
): DecodedRequestBody<T> {
  const r = new Reader(frame, bodyOffset);
  const message = codec.read(r, version);
  return { message, trailingBytes: r.remaining };
}

/**
 * Splits a byte stream into frames. Feed it socket reads; it returns each complete frame's payload
 * (without the size prefix). Payloads are zero-copy views when a frame arrives within one chunk,
 * and decoded `bytes`/`records` fields are views into the payload: do not reuse a chunk's memory
 * (e.g. a fixed read buffer) after pushing it; pass a fresh array or a copy.
 *
 * @example
 * ```ts
 * import { FrameSplitter } from "./framing.ts";
 *
 * const s = new FrameSplitter();
 * console.log(s.push(new Uint8Array([0, 0, 0, 2, 7])).length); // 0 (incomplete)
 * console.log(s.push(new Uint8Array([8]))); // [Uint8Array(2) [7, 8]]
 * ```
 */
export class FrameSplitter {
  #chunks: Uint8Array[] = [];
  #head = 0; // bytes of #chunks[0] already consumed
  #pending = 0; // unconsumed bytes across #chunks
  readonly #max: number;

  /**
   * Creates a splitter.
   *
   * @param maxFrameSize Largest accepted frame payload (default 100 MiB).
   */
  constructor(maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE) {
    this.#max = maxFrameSize;
  }

  /** Bytes buffered towards the next frame. */
  get buffered(): number {
    return this.#pending;
  }

  #take(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first.length - this.#head >= n) {
      const out = first.subarray(this.#head, this.#head + n);
      this.#head += n;
      if (this.#head === first.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
      this.#pending -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const c = this.#chunks[0];
      const k = Math.min(n - o, c.length - this.#head);
      out.set(c.subarray(this.#head, this.#head + k), o);
      o += k;
      this.#head += k;
      if (this.#head === c.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    this.#pending -= n;
    return out;
  }

  #peekSize(): number {
    let size = 0;
    let i = 0;
    let c = 0;
    let p = this.#head;
    while (i < 4) {
      const chunk = this.#chunks[c];
      if (p >= chunk.length) {
        c++;
        p = 0;
        continue;
      }
      size = (size << 8) | chunk[p++];
      i++;
    }
    return size;
  }

  /**
   * Adds bytes from the stream.
   *
   * @param chunk The bytes just read.
   * @returns The payloads of every frame completed by this chunk, in order.
   * @throws {ProtocolError} If a size prefix is negative or above the limit.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#pending += chunk.length;
    }
    const out: Uint8Array[] = [];
    while (this.#pending >= 4) {
      const size = this.#peekSize();
      if (size < 0 || size > this.#max) {
        throw new ProtocolError(`invalid frame size ${size}: must be 0-${this.#max}`);
      }
      if (this.#pending < 4 + size) break;
      this.#take(4);
      out.push(size === 0 ? new Uint8Array(0) : this.#take(size));
    }
    return out;
  }
}

/**
 * The bytes of a frame's chunks (as {@linkcode encodeResponseFrame} returns them) in one array:
 * the only chunk itself when it starts its buffer, else a copy.
 *
 * @example
 * ```ts
 * import { concat } from "./framing.ts";
 *
 * const one = concat([new Uint8Array([1, 2]), new Uint8Array([3])]);
 * console.assert(one.join() === "1,2,3");
 * ```
 *
 * @param chunks The chunks, in order.
 * @returns Their bytes in one array.
 */
export function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1 && chunks[0].byteOffset === 0) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
