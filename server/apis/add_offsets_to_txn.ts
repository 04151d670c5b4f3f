// Copyright 2026 the Sluice authors. Apache-2.0 license.
// AddOffsetsToTxn (key 25): served v0-v3 (flexible from v3).
// - Adds the group's `__consumer_offsets` partition to the producer's transaction (`../txn/`);
//   TxnOffsetCommit for that group is accepted afterwards.
// - PRODUCER_FENCED is sent as INVALID_PRODUCER_EPOCH below v2.

import {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
  createAddOffsetsToTxnResponse,
} from "../../protocol/messages/add_offsets_to_txn.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { fencedFor, transactionCoordinatorOf } from "../txn/mod.ts";

/** AddOffsetsToTxn handler. */
export const addOffsetsToTxn: ApiHandler = defineApi<
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse
>({
  minVersion: 0,
  maxVersion: 3,
  request: AddOffsetsToTxnRequest,
  response: AddOffsetsToTxnResponse,
  async handle(ctx, req) {
    const txns = await transactionCoordinatorOf(ctx.broker);
    const errorCode = await txns.addOffsets(req, req.groupId);
    return createAddOffsetsToTxnResponse({ errorCode: fencedFor(errorCode, ctx.version >= 2) });
  },
  errorResponse(_req, errorCode) {
    return createAddOffsetsToTxnResponse({ errorCode });
  },
});
