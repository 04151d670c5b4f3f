// Copyright 2026 the Sluice authors. Apache-2.0 license.
// EndTxn (key 26): served v0-v3 (flexible from v3).
// - Commits or aborts the producer's transaction (`../txn/`): PrepareCommit/PrepareAbort, the
//   COMMIT/ABORT markers in every partition, then CompleteCommit/CompleteAbort, all before the
//   answer.
// - PRODUCER_FENCED is sent as INVALID_PRODUCER_EPOCH below v2.
// - ACLs: WRITE on the transactional id, else TRANSACTIONAL_ID_AUTHORIZATION_FAILED and the
//   transaction is left as it is (`../security/access.ts`).

import {
  createEndTxnResponse,
  EndTxnRequest,
  EndTxnResponse,
} from "../../protocol/messages/end_txn.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { fencedFor, transactionCoordinatorOf } from "../txn/coordinator_of.ts";
import { ACCESS, authorize } from "../security/access.ts";
import { ErrorCode } from "../../protocol/errors.ts";

/** EndTxn handler. */
export const endTxn: ApiHandler = defineApi<EndTxnRequest, EndTxnResponse>({
  minVersion: 0,
  maxVersion: 3,
  request: EndTxnRequest,
  response: EndTxnResponse,
  async handle(ctx, req) {
    if (!authorize(ctx, ACCESS.EndTxn.transactionalId, req.transactionalId)) {
      return createEndTxnResponse({ errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED });
    }
    const txns = await transactionCoordinatorOf(ctx.broker);
    const errorCode = await txns.endTxn(req, req.committed);
    return createEndTxnResponse({ errorCode: fencedFor(errorCode, ctx.version >= 2) });
  },
  errorResponse(_req, errorCode) {
    return createEndTxnResponse({ errorCode });
  },
});
