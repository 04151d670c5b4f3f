// Copyright 2026 the Sluice authors. Apache-2.0 license.
// FindCoordinator (key 10): served v0-v4.
// - This broker coordinates every group and every transactional id: key types 0 (group) and 1
//   (transaction, `../txn/`) answer with our node id and advertised address; other key types
//   get INVALID_REQUEST.
// - v0 has no key type (group); v1+ adds error_message; v4+ batches keys in coordinator_keys
//   and answers per key in `coordinators` (the top-level fields stay at their defaults).
// - Cluster mode (docs/CLUSTER.md): the coordinator is the leader of the key's partition of
//   `__consumer_offsets` / `__transaction_state`, created on first use with
//   `offsets.topic.replication.factor` / `transaction.state.log.replication.factor` replicas;
//   COORDINATOR_NOT_AVAILABLE while fewer brokers are alive or the partition has no leader.
// - ACLs: DESCRIBE on the group (key type 0) or the transactional id (1), else
//   GROUP_AUTHORIZATION_FAILED / TRANSACTIONAL_ID_AUTHORIZATION_FAILED for that key
//   (`../security/access.ts`).

import { ErrorCode, errorInfo } from "../../protocol/errors.ts";
import {
  createFindCoordinatorResponse,
  createFindCoordinatorResponseCoordinator,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../../protocol/messages/find_coordinator.ts";
import {
  advertisedEndpoint,
  type ApiHandler,
  type BrokerContext,
  clipMessage,
  defineApi,
  registeredEndpoint,
} from "../api.ts";
import type { ConnectionInfo } from "../connection.ts";
import { ACCESS, authorize } from "../security/access.ts";

type Coordinator = FindCoordinatorResponse["coordinators"][number];

async function lookup(
  broker: BrokerContext,
  connection: ConnectionInfo,
  key: string,
  keyType: number,
): Promise<Coordinator> {
  if ((keyType === 0 || keyType === 1) && broker.cluster !== undefined) {
    const c = await broker.cluster.findCoordinator(keyType, key);
    if (c.errorCode !== ErrorCode.NONE) return failed(key, c.errorCode, c.message);
    // the endpoint of the listener the request came in on, as Kafka answers
    const reg = broker.cluster.view.broker(c.nodeId)?.value;
    const ep = reg === undefined ? c : registeredEndpoint(reg, connection.listenerName);
    return createFindCoordinatorResponseCoordinator({
      key,
      nodeId: c.nodeId,
      host: ep.host,
      port: ep.port,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
    });
  }
  if (keyType === 0 || keyType === 1) { // 0: a group, 1: a transactional id
    const ep = advertisedEndpoint(broker, connection);
    return createFindCoordinatorResponseCoordinator({
      key,
      nodeId: broker.nodeId,
      host: ep.host,
      port: ep.port,
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
  async handle(ctx, req) {
    const batched = ctx.version >= 4;
    const keys = batched ? req.coordinatorKeys : [req.key];
    const keyType = ctx.version >= 1 ? req.keyType : 0;
    const results: Coordinator[] = [];
    for (const k of keys) {
      if (keyType === 0 && !authorize(ctx, ACCESS.FindCoordinator.group, k)) {
        results.push(failed(k, ErrorCode.GROUP_AUTHORIZATION_FAILED, null));
      } else if (keyType === 1 && !authorize(ctx, ACCESS.FindCoordinator.transactionalId, k)) {
        results.push(failed(k, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, null));
      } else {
        results.push(await lookup(ctx.broker, ctx.connection, k, keyType));
      }
    }
    return respond(batched, results);
  },
  errorResponse(req, errorCode, message) {
    // The version is unknown here: a request without any key gets the batched (empty) shape,
    // which encodes in every version.
    const batched = req.coordinatorKeys.length > 0 || req.key === "";
    const keys = batched ? req.coordinatorKeys : [req.key];
    return respond(batched, keys.map((k) => failed(k, errorCode, message)));
  },
});
