// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The broker's share of a SCRAM login (issue #14 bar: < 5 ms per new connection): the server
// side of one SCRAM-SHA-256 / SCRAM-SHA-512 exchange (parse client-first, answer, check the
// client proof, sign) with the stored StoredKey/ServerKey of a 4096-iteration credential, against
// the PBKDF2 a broker would run per login if it kept passwords (the baseline: it does not; PBKDF2
// runs once, on the client, when the credential is made).
// Run: deno bench --allow-all bench/sasl_bench.ts
import {
  credentialFromSaltedPassword,
  saltedPassword,
  SCRAM_MECHANISMS,
  ScramClient,
  ScramServer,
} from "../protocol/scram.ts";

for (const name of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
  const mech = SCRAM_MECHANISMS.get(name)!;
  const salt = crypto.getRandomValues(new Uint8Array(24));
  const salted = await saltedPassword(mech, "bench-password", salt, 4096);
  const credential = await credentialFromSaltedPassword(mech, salted, salt, 4096);
  // One exchange recorded with a fixed server nonce, replayed against fresh servers.
  const serverNonce = () => "fixed-server-nonce";
  const client = new ScramClient(mech, "bench", "bench-password");
  const clientFirst = client.first();
  const clientFinal = await client.final(
    new ScramServer(mech, () => credential, serverNonce).first(clientFirst),
  );

  Deno.bench({
    name: `${name}: PBKDF2 of the password, 4096 iterations (what the broker avoids)`,
    group: name,
    baseline: true,
    async fn() {
      await saltedPassword(mech, "bench-password", salt, 4096);
    },
  });
  Deno.bench({
    name: `${name}: broker side of one login (first + final)`,
    group: name,
    async fn() {
      const server = new ScramServer(mech, () => credential, serverNonce);
      server.first(clientFirst);
      await server.final(clientFinal);
    },
  });
}
