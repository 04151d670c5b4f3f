// Copyright 2026 the Sluice authors. Apache-2.0 license.
// InitProducerId (key 22): served v0-v5 (flexible from v2).
// - Without a transactional id (idempotent producers): a new producer id, unique across
//   restarts (blocks reserved in `producer_id_block`, see `../producer_ids.ts`), epoch 0. A
//   re-initialisation with an existing id/epoch (v3+, KIP-360) also gets a fresh id, as Kafka
//   does for non-transactional producers.
// - With a transactional id: COORDINATOR_NOT_AVAILABLE, because this broker has no transaction
//   coordinator yet (logged as "transactions are not supported yet").

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createInitProducerIdResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../../protocol/messages/init_producer_id.ts";
import { type ApiHandler, defineApi } from "../api.ts";

/** InitProducerId handler. */
export const initProducerId: ApiHandler = defineApi<
  InitProducerIdRequest,
  InitProducerIdResponse
>({
  key: 22,
  name: "InitProducerId",
  minVersion: 0,
  maxVersion: 5,
  request: InitProducerIdRequest,
  response: InitProducerIdResponse,
  async handle(ctx, req) {
    if (req.transactionalId !== null) {
      ctx.broker.logger.warn(
        `InitProducerId for transactional id "${req.transactionalId}" refused with ` +
          `COORDINATOR_NOT_AVAILABLE: transactions are not supported yet`,
      );
      return createInitProducerIdResponse({
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        producerId: -1,
        producerEpoch: -1,
      });
    }
    const producerId = await ctx.broker.producerIds.next();
    return createInitProducerIdResponse({ errorCode: 0, producerId, producerEpoch: 0 });
  },
  errorResponse(_req, errorCode) {
    return createInitProducerIdResponse({ errorCode, producerId: -1, producerEpoch: -1 });
  },
});
