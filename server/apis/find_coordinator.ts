// Copyright 2026 the Sluice authors. Apache-2.0 license.
// FindCoordinator (key 10): served v0-v4.
// - This broker coordinates every group and every transactional id: key types 0 (group) and 1
//   (transaction, `../txn/`) answer with our node id and advertised address; other key types
//   get INVALID_REQUEST.
// - v0 has no key type (group); v1+ adds error_message; v4+ batches keys in coordinator_keys
//   and answers per key in `coordinators` (the top-level fields stay at their defaults).

import { ErrorCode, errorInfo } from "../../protocol/errors.ts";
import {
  createFindCoordinatorResponse,
  createFindCoordinatorResponseCoordinator,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../../protocol/messages/find_coordinator.ts";
import { type ApiHandler, type BrokerContext, clipMessage, defineApi } from "../api.ts";

type Coordinator = FindCoordinatorResponse["coordinators"][number];

function lookup(broker: BrokerContext, key: string, keyType: number): Coordinator {
  if (keyType === 0 || keyType === 1) { // 1: HOOK (transactions)
    return createFindCoordinatorResponseCoordinator({
      key,
      nodeId: broker.nodeId,
      host: broker.advertised.host,
      port: broker.advertised.port,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
    });
  }
  return failed(key, ErrorCode.INVALID_REQUEST, `Unknown coordinator key type ${keyType}`);
}

function failed(key: string, errorCode: number, errorMessage: string | null): Coordinator {
  return createFindCoordinatorResponseCoordinator({
    key,
    nodeId: -1,
    host: "",
    port: -1,
    errorCode,
    errorMessage: errorMessage === null
      ? errorInfo(errorCode)?.message ?? null
      : clipMessage(errorMessage),
  });
}

function respond(batched: boolean, results: Coordinator[]): FindCoordinatorResponse {
  if (batched) return createFindCoordinatorResponse({ coordinators: results });
  const c = results[0];
  return createFindCoordinatorResponse({
    errorCode: c.errorCode,
    errorMessage: c.errorMessage,
    nodeId: c.nodeId,
    host: c.host,
    port: c.port,
  });
}

/** FindCoordinator handler. */
export const findCoordinator: ApiHandler = defineApi<
  FindCoordinatorRequest,
  FindCoordinatorResponse
>({
  minVersion: 0,
  maxVersion: 4,
  request: FindCoordinatorRequest,
  response: FindCoordinatorResponse,
  handle(ctx, req) {
    const batched = ctx.version >= 4;
    const keys = batched ? req.coordinatorKeys : [req.key];
    const keyType = ctx.version >= 1 ? req.keyType : 0;
    return respond(batched, keys.map((k) => lookup(ctx.broker, k, keyType)));
  },
  errorResponse(req, errorCode, message) {
    // The version is unknown here: a request without any key gets the batched (empty) shape,
    // which encodes in every version.
    const batched = req.coordinatorKeys.length > 0 || req.key === "";
    const keys = batched ? req.coordinatorKeys : [req.key];
    return respond(batched, keys.map((k) => failed(k, errorCode, message)));
  },
});
