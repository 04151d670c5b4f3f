// Copyright 2026 the Sluice authors. Apache-2.0 license.

/**
 * The Kafka wire protocol for Sluice: primitives ({@linkcode Reader}, {@linkcode Writer}),
 * framing helpers, the error-code table, and codecs for every request and response of Apache
 * Kafka 3.9, generated from Kafka's JSON message specs by `tools/gen_protocol.ts`.
 *
 * Each API lives in `protocol/messages/<api>.ts` with versionless types, e.g.
 * {@linkcode ProduceRequest}, and a codec object of the same name implementing
 * {@linkcode MessageCodec}. `records` fields are raw bytes, never decoded.
 *
 * @example Encode and decode an ApiVersions request
 * ```ts
 * import { ApiVersionsRequest, decodeBody, decodeRequestHeader, encodeRequestFrame } from "./mod.ts";
 *
 * const body = ApiVersionsRequest.create({ clientSoftwareName: "sluice" });
 * const frame = encodeRequestFrame(ApiVersionsRequest, 3, 1, "cli", body);
 * const { header, bodyOffset } = decodeRequestHeader(frame, 4);
 * const req = decodeBody(ApiVersionsRequest, frame, bodyOffset, header.requestApiVersion);
 * console.log(req.clientSoftwareName); // "sluice"
 * ```
 *
 * @module
 */

export * from "./primitives.ts";
export * from "./errors.ts";
export * from "./framing.ts";
export * from "./apis.ts";
export * from "./messages/mod.ts";
