// Copyright 2026 the Sluice authors. Apache-2.0 license.
// ApiVersions (key 18): served v0-v4.
// - v0-v2: error_code, api_keys (+ throttle_time_ms from v1). v3 is flexible and adds
//   client_software_name/version (validated as Kafka does: INVALID_REQUEST if malformed) and the
//   tagged feature fields (we advertise no features). v4 (KIP-1022/KAFKA-17011) only allows a
//   supported feature's min version to be 0; with no features it is v3 (the Java client 3.9+
//   opens every connection with it).
// - KIP-511: a request with a version we do not serve (v5+) is answered in v0 format with
//   UNSUPPORTED_VERSION and our ranges, so the client can retry with a version we know; the
//   broker does that before decoding (see `apiVersionsFallback`).
// - Ranges come from the handler table (`apis/table.ts`) and all start at 0.

import {
  ApiVersionsRequest,
  ApiVersionsResponse,
  createApiVersionsResponse,
  createApiVersionsResponseApiVersion,
} from "../../protocol/messages/api_versions.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { type ApiHandler, type ApiRange, defineApi } from "../api.ts";

const SOFTWARE_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

function ranges(apis: ReadonlyMap<number, ApiRange>): ApiVersionsResponse["apiKeys"] {
  return [...apis.values()].sort((a, b) => a.key - b.key).map((a) =>
    createApiVersionsResponseApiVersion({
      apiKey: a.key,
      minVersion: a.minVersion,
      maxVersion: a.maxVersion,
    })
  );
}

/**
 * The ApiVersions response for a version we do not serve: UNSUPPORTED_VERSION plus our ranges,
 * to be encoded as v0 (KIP-511).
 *
 * @param apis The registry.
 * @returns The response.
 */
export function apiVersionsFallback(apis: ReadonlyMap<number, ApiRange>): ApiVersionsResponse {
  return createApiVersionsResponse({
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    apiKeys: ranges(apis),
  });
}

/** ApiVersions handler. */
export const apiVersions: ApiHandler = defineApi<ApiVersionsRequest, ApiVersionsResponse>({
  minVersion: 0,
  maxVersion: 4,
  request: ApiVersionsRequest,
  response: ApiVersionsResponse,
  handle(ctx, req) {
    if (
      ctx.version >= 3 &&
      (!SOFTWARE_RE.test(req.clientSoftwareName) || !SOFTWARE_RE.test(req.clientSoftwareVersion))
    ) {
      ctx.broker.logger.warn(
        `ApiVersions v${ctx.version} from connection ${ctx.connection.id} refused: invalid client software ` +
          `name/version "${req.clientSoftwareName}"/"${req.clientSoftwareVersion}"`,
      );
      return createApiVersionsResponse({
        errorCode: ErrorCode.INVALID_REQUEST,
        apiKeys: ranges(ctx.broker.apis),
      });
    }
    if (ctx.version >= 3) {
      // matched by client metrics subscriptions (KIP-714 client_software_name/_version)
      ctx.connection.clientSoftware = {
        name: req.clientSoftwareName,
        version: req.clientSoftwareVersion,
      };
    }
    return createApiVersionsResponse({ errorCode: 0, apiKeys: ranges(ctx.broker.apis) });
  },
  errorResponse(_req, errorCode) {
    return createApiVersionsResponse({ errorCode });
  },
});
