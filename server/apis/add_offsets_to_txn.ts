// Copyright 2026 the Sluice authors. Apache-2.0 license.
// AddOffsetsToTxn (key 25): served v0-v3 (flexible from v3).
// - Adds the group's `__consumer_offsets` partition to the producer's transaction (`../txn/`);
//   TxnOffsetCommit for that group is accepted afterwards.
// - PRODUCER_FENCED is sent as INVALID_PRODUCER_EPOCH below v2.
// - ACLs (`../security/access.ts`): WRITE on the transactional id, else
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED; READ on the group, else GROUP_AUTHORIZATION_FAILED.

import {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
  createAddOffsetsToTxnResponse,
} from "../../protocol/messages/add_offsets_to_txn.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { fencedFor, transactionCoordinatorOf } from "../txn/coordinator_of.ts";
import { ACCESS, authorize } from "../security/access.ts";
import { ErrorCode } from "../../protocol/errors.ts";

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
    if (!authorize(ctx, ACCESS.AddOffsetsToTxn.transactionalId, req.transactionalId)) {
      return createAddOffsetsToTxnResponse({
        errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      });
    }
    if (!authorize(ctx, ACCESS.AddOffsetsToTxn.group, req.groupId)) {
      return createAddOffsetsToTxnResponse({ errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED });
    }
    const txns = await transactionCoordinatorOf(ctx.broker);
    const errorCode = await txns.addOffsets(req, req.groupId);
    return createAddOffsetsToTxnResponse({ errorCode: fencedFor(errorCode, ctx.version >= 2) });
  },
  errorResponse(_req, errorCode) {
    return createAddOffsetsToTxnResponse({ errorCode });
  },
});
