// Copyright 2026 the Sluice authors. Apache-2.0 license.
// SaslHandshake (key 17): served v0-v1 by the SASL authenticator (`server/security/sasl.ts`).
// - On a SASL listener: picks the mechanism; one not enabled answers UNSUPPORTED_SASL_MECHANISM
//   with the enabled list and closes. v0: the tokens follow as bare frames; v1: in
//   SaslAuthenticate requests. On an authenticated connection it begins re-authentication
//   (KIP-368, v1 only).
// - On a PLAINTEXT listener: ILLEGAL_SASL_STATE, as Kafka's KafkaApis answers.

import {
  createSaslHandshakeResponse,
  SaslHandshakeRequest,
  SaslHandshakeResponse,
} from "../../protocol/messages/sasl_handshake.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { type ApiHandler, defineApi } from "../api.ts";

/** SaslHandshake handler. */
export const saslHandshake: ApiHandler = defineApi<SaslHandshakeRequest, SaslHandshakeResponse>({
  minVersion: 0,
  maxVersion: 1,
  request: SaslHandshakeRequest,
  response: SaslHandshakeResponse,
  handle(ctx, req) {
    const sasl = ctx.broker.sasl;
    if (sasl === undefined) {
      return createSaslHandshakeResponse({ errorCode: ErrorCode.ILLEGAL_SASL_STATE });
    }
    return sasl.handshake(ctx, req);
  },
  errorResponse(_req, errorCode) {
    return createSaslHandshakeResponse({ errorCode });
  },
});
