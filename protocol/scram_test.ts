// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, rejects, throws } from "node:assert/strict";
import {
  constantTimeEqual,
  credentialFromSaltedPassword,
  fromBase64,
  parseClientFirst,
  saltedPassword,
  SCRAM_MECHANISMS,
  ScramClient,
  ScramError,
  ScramServer,
} from "./scram.ts";

const SHA256 = SCRAM_MECHANISMS.get("SCRAM-SHA-256")!;
const SHA512 = SCRAM_MECHANISMS.get("SCRAM-SHA-512")!;
const te = new TextEncoder();
const td = new TextDecoder();

Deno.test("ScramClient reproduces RFC 7677's SCRAM-SHA-256 example", async () => {
  const c = new ScramClient(SHA256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  assertEquals(td.decode(c.first()), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  const final = await c.final(
    te.encode(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    ),
  );
  assertEquals(
    td.decode(final),
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  await c.verify(te.encode("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
  await rejects(c.verify(te.encode("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")), ScramError);
});

for (const mech of [SHA256, SHA512]) {
  Deno.test(`ScramServer and ScramClient agree (${mech.name}); a wrong password fails`, async () => {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const cred = await credentialFromSaltedPassword(
      mech,
      await saltedPassword(mech, "s3cret", salt, 4096),
      salt,
      4096,
    );
    const lookup = (u: string) => u === "al,i=ce" ? cred : undefined;
    const server = new ScramServer(mech, lookup);
    const client = new ScramClient(mech, "al,i=ce", "s3cret");
    const sf = server.first(client.first());
    await client.verify(await server.final(await client.final(sf)));
    assertEquals(server.username, "al,i=ce");

    const bad = new ScramServer(mech, lookup);
    const wrong = new ScramClient(mech, "al,i=ce", "secret");
    const sf2 = bad.first(wrong.first());
    await rejects(bad.final(await wrong.final(sf2)), /Invalid user credentials/);
    throws(() => new ScramServer(mech, lookup).first(new ScramClient(mech, "bob", "x").first()));
  });
}

Deno.test("parseClientFirst() refuses channel binding and malformed messages", () => {
  for (
    const bad of [
      "p=tls-unique,,n=u,r=abc",
      "",
      "n,,",
      "n,,r=abc,n=u",
      "x,,n=u,r=abc",
      "n,,n=u",
      "n,,n=,r=abc",
      "n,,n=u=41,r=abc",
      "n,,n=u,r=",
      "n,,n=u,r=a,b",
    ]
  ) {
    throws(() => parseClientFirst(te.encode(bad)), ScramError, bad);
  }
  assertEquals(parseClientFirst(te.encode("y,a=u,n=u,r=abc,ext=1")).extensions, { ext: "1" });
});

Deno.test("constantTimeEqual() and fromBase64()", () => {
  assertEquals(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  assertEquals(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
  assertEquals(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 0])), false);
  assertEquals(constantTimeEqual(new Uint8Array([]), new Uint8Array([0])), false);
  throws(() => fromBase64("a", "x"), ScramError);
  assertEquals(fromBase64("AAE=", "x"), new Uint8Array([0, 1]));
});
