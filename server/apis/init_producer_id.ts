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

import {
  createInitProducerIdResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../../protocol/messages/init_producer_id.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { fencedFor, transactionCoordinatorOf } from "../txn/mod.ts";

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
    if (req.transactionalId !== null) {
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
    const producerId = await ctx.broker.producerIds.next();
    return createInitProducerIdResponse({ errorCode: 0, producerId, producerEpoch: 0 });
  },
  errorResponse(_req, errorCode) {
    return createInitProducerIdResponse({ errorCode, producerId: -1, producerEpoch: -1 });
  },
});
