// Copyright 2026 the Sluice authors. Apache-2.0 license.
// SaslAuthenticate (key 36): served v0-v2 by the SASL authenticator (`server/security/sasl.ts`).
// - Carries one token of the mechanism chosen by SaslHandshake v1 and answers the server's.
//   A failure answers SASL_AUTHENTICATION_FAILED with the reason (after
//   connection.failed.authentication.delay.ms) and closes the connection.
// - v1+: session_lifetime_ms on success, from connections.max.reauth.ms (KIP-368; 0: none).
// - v2: flexible versions.
// - After authentication, or on a PLAINTEXT listener: ILLEGAL_SASL_STATE, as Kafka.

import {
  createSaslAuthenticateResponse,
  SaslAuthenticateRequest,
  SaslAuthenticateResponse,
} from "../../protocol/messages/sasl_authenticate.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { type ApiHandler, defineApi } from "../api.ts";

/** SaslAuthenticate handler. */
export const saslAuthenticate: ApiHandler = defineApi<
  SaslAuthenticateRequest,
  SaslAuthenticateResponse
>({
  minVersion: 0,
  maxVersion: 2,
  request: SaslAuthenticateRequest,
  response: SaslAuthenticateResponse,
  handle(ctx, req) {
    const sasl = ctx.broker.sasl;
    if (sasl === undefined) {
      return createSaslAuthenticateResponse({
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: "SaslAuthenticate request received after successful authentication",
      });
    }
    return sasl.authenticate(ctx, req);
  },
  errorResponse(_req, errorCode, errorMessage) {
    return createSaslAuthenticateResponse({ errorCode, errorMessage });
  },
});
