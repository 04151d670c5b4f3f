// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import type { SaslAuthenticateResponse } from "./messages/sasl_authenticate.ts";
import { saslLogin, type SaslLoginExchange, type SaslLoginFailure } from "./sasl_login.ts";
import {
  credentialFromSaltedPassword,
  saltedPassword,
  SCRAM_MECHANISMS,
  ScramError,
  ScramServer,
} from "./scram.ts";

const SHA512 = SCRAM_MECHANISMS.get("SCRAM-SHA-512")!;
const td = new TextDecoder();

/** Thrown by the test exchange's `fail`, carrying the failure. */
class Failed extends Error {
  constructor(readonly failure: SaslLoginFailure) {
    super(failure.step);
  }
}

const ok = (authBytes: Uint8Array, sessionLifetimeMs = 0): SaslAuthenticateResponse => ({
  errorCode: 0,
  errorMessage: null,
  authBytes,
  sessionLifetimeMs,
});

/** An exchange answering from `answer`; records the mechanisms and tokens sent. */
function exchange(
  answer: (token: Uint8Array) => Promise<SaslAuthenticateResponse> | SaslAuthenticateResponse,
  enabled = ["PLAIN", "SCRAM-SHA-512"],
): SaslLoginExchange & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    handshake: (mechanism) => {
      sent.push(`handshake ${mechanism}`);
      return Promise.resolve({
        errorCode: enabled.includes(mechanism) ? 0 : 33,
        mechanisms: enabled,
      });
    },
    authenticate: async (token) => {
      sent.push(`authenticate ${td.decode(token).split(",")[0]}`);
      return await answer(token);
    },
    fail: (failure) => {
      throw new Failed(failure);
    },
  };
}

Deno.test("saslLogin sends PLAIN's one token and returns the session lifetime", async () => {
  let token = "";
  const ex = exchange((t) => (token = td.decode(t), ok(new Uint8Array(0), 60_000)));
  const lifetime = await saslLogin(ex, { mechanism: "PLAIN", username: "alice", password: "pw" });
  assertEquals(lifetime, 60_000);
  assertEquals(token, "\u0000alice\u0000pw");
  assertEquals(ex.sent, ["handshake PLAIN", "authenticate \u0000alice\u0000pw"]);
});

Deno.test("saslLogin runs SCRAM's two rounds against a ScramServer and checks its signature", async () => {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const cred = await credentialFromSaltedPassword(
    SHA512,
    await saltedPassword(SHA512, "s3cret", salt, 4096),
    salt,
    4096,
  );
  const server = new ScramServer(SHA512, (u) => u === "alice" ? cred : undefined);
  let round = 0;
  const answer = async (t: Uint8Array) =>
    ok(round++ === 0 ? server.first(t) : await server.final(t), 1000);
  const ex = exchange(answer);
  assertEquals(
    await saslLogin(ex, { mechanism: "SCRAM-SHA-512", username: "alice", password: "s3cret" }),
    1000,
  );
  assertEquals(ex.sent, ["handshake SCRAM-SHA-512", "authenticate n", "authenticate c=biws"]);
  assertEquals(server.username, "alice");

  // a server-final signature that is not the server's: the client refuses it
  const forged = new ScramServer(SHA512, () => cred);
  let forgedRound = 0;
  await rejects(
    saslLogin(
      exchange(async (t) =>
        forgedRound++ === 0
          ? ok(forged.first(t))
          : (await forged.final(t), ok(new TextEncoder().encode("v=AAAA")))
      ),
      { mechanism: "SCRAM-SHA-512", username: "alice", password: "s3cret" },
    ),
    (e: Failed) => {
      assertEquals(e.failure.step, "scram");
      assertEquals(e.failure.step === "scram" && e.failure.error instanceof ScramError, true);
      return true;
    },
  );
});

Deno.test("saslLogin fails on a refused mechanism and on a refused password, with the broker's answer", async () => {
  const refused = exchange(() => ok(new Uint8Array(0)), ["PLAIN"]);
  await rejects(
    saslLogin(refused, { mechanism: "SCRAM-SHA-256", username: "a", password: "b" }),
    (e: Failed) => {
      assertEquals(e.failure, { step: "handshake", errorCode: 33, mechanisms: ["PLAIN"] });
      return true;
    },
  );
  assertEquals(refused.sent, ["handshake SCRAM-SHA-256"]);
  const wrong = exchange(() => ({
    errorCode: 58,
    errorMessage: "Invalid username or password",
    authBytes: new Uint8Array(0),
    sessionLifetimeMs: 0,
  }));
  await rejects(
    saslLogin(wrong, { mechanism: "PLAIN", username: "a", password: "b" }),
    (e: Failed) => {
      assertEquals(e.failure, {
        step: "authenticate",
        errorCode: 58,
        errorMessage: "Invalid username or password",
      });
      return true;
    },
  );
});
