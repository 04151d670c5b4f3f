// Copyright 2026 the Sluice authors. Apache-2.0 license.
// InitProducerId (key 22): served v0-v5 (flexible from v2).
// - Without a transactional id (idempotent producers): a new producer id, unique across
//   restarts (blocks reserved in `producer_id_block`, see `../producer_ids.ts`), epoch 0. A
//   re-initialisation with an existing id/epoch (v3+, KIP-360) also gets a fresh id, as Kafka
//   does for non-transactional producers.
// - With a transactional id: the transaction coordinator (`../txn/`) allocates the id or bumps
//   the epoch (fencing the previous producer and aborting its ongoing transaction); v3+ may
//   send the current id/epoch (KIP-360). PRODUCER_FENCED is sent as INVALID_PRODUCER_EPOCH
//   below v4.
// - ACLs (`../security/access.ts`): a transactional id needs WRITE on it, else
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED; an idempotent producer IDEMPOTENT_WRITE on the cluster
//   or WRITE on some topic (KIP-679), else CLUSTER_AUTHORIZATION_FAILED.

import {
  createInitProducerIdResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../../protocol/messages/init_producer_id.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { fencedFor, transactionCoordinatorOf } from "../txn/coordinator_of.ts";
import { ACCESS, authorize, authorizeAny } from "../security/access.ts";
import { ErrorCode } from "../../protocol/errors.ts";

/** InitProducerId handler. */
export const initProducerId: ApiHandler = defineApi<
  InitProducerIdRequest,
  InitProducerIdResponse
>({
  minVersion: 0,
  maxVersion: 5,
  request: InitProducerIdRequest,
  response: InitProducerIdResponse,
  async handle(ctx, req) {
    const refused = (errorCode: number) =>
      createInitProducerIdResponse({ errorCode, producerId: -1, producerEpoch: -1 });
    if (req.transactionalId !== null) {
      if (!authorize(ctx, ACCESS.InitProducerId.transactionalId, req.transactionalId)) {
        return refused(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      }
      const txns = await transactionCoordinatorOf(ctx.broker);
      const r = await txns.initProducerId({
        transactionalId: req.transactionalId,
        timeoutMs: req.transactionTimeoutMs,
        producerId: ctx.version >= 3 ? req.producerId : -1,
        producerEpoch: ctx.version >= 3 ? req.producerEpoch : -1,
      });
      return createInitProducerIdResponse({
        ...r,
        errorCode: fencedFor(r.errorCode, ctx.version >= 4),
      });
    }
    if (
      !authorize(ctx, ACCESS.InitProducerId.idempotent) &&
      !authorizeAny(ctx, ACCESS.InitProducerId.anyTopicWrite)
    ) {
      return refused(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    }
    const producerId = await ctx.broker.producerIds.next();
    return createInitProducerIdResponse({ errorCode: 0, producerId, producerEpoch: 0 });
  },
  errorResponse(_req, errorCode) {
    return createInitProducerIdResponse({ errorCode, producerId: -1, producerEpoch: -1 });
  },
});
