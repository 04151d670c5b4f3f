// Copyright 2026 the Sluice authors. Apache-2.0 license.
// ListTransactions (key 66): served v0-v1 (flexible).
// - Every transactional id with its producer id and state, filtered by states, producer ids and
//   (v1) minimum running time; unknown state names are echoed in unknown_state_filters.
// - ACLs: only the transactional ids the principal may DESCRIBE are listed
//   (`../security/access.ts`).

import {
  createListTransactionsResponse,
  createListTransactionsResponseTransactionState,
  ListTransactionsRequest,
  ListTransactionsResponse,
} from "../../protocol/messages/list_transactions.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { transactionCoordinatorOf, TXN_STATES } from "../txn/mod.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** ListTransactions handler. */
export const listTransactions: ApiHandler = defineApi<
  ListTransactionsRequest,
  ListTransactionsResponse
>({
  minVersion: 0,
  maxVersion: 1,
  request: ListTransactionsRequest,
  response: ListTransactionsResponse,
  async handle(ctx, req) {
    const txns = await transactionCoordinatorOf(ctx.broker);
    const known: readonly string[] = TXN_STATES;
    const unknownStateFilters = req.stateFilters.filter((s) => !known.includes(s));
    const states = req.stateFilters.filter((s) => known.includes(s));
    const matches = unknownStateFilters.length > 0 && states.length === 0 ? [] : txns.list({
      states,
      producerIds: req.producerIdFilters,
      durationMs: ctx.version >= 1 ? req.durationFilter : -1,
    });
    return createListTransactionsResponse({
      unknownStateFilters,
      transactionStates: matches.filter((d) =>
        authorize(ctx, ACCESS.ListTransactions.transactionalId, d.transactionalId)
      ).map((d) =>
        createListTransactionsResponseTransactionState({
          transactionalId: d.transactionalId,
          producerId: d.producerId,
          transactionState: d.state,
        })
      ),
    });
  },
  errorResponse(_req, errorCode) {
    return createListTransactionsResponse({ errorCode });
  },
});
