// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { SslPrincipalMapper, subjectDn } from "./ssl_principal.ts";
import { makeCertificates } from "../../tests/tls_certs.ts";

function derOf(pem: string): Uint8Array {
  const b64 = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function opensslSubject(path: string): Promise<string> {
  const r = await new Deno.Command("openssl", {
    args: ["x509", "-in", path, "-noout", "-subject", "-nameopt", "RFC2253"],
  }).output();
  return new TextDecoder().decode(r.stdout).trim().replace(/^subject=/, "");
}

Deno.test("subjectDn() writes the subject as RFC 2253, last RDN first, as Java and openssl do", async () => {
  const certs = await makeCertificates();
  try {
    for (const path of [certs.clientCertPath, certs.serverCertPath, certs.rogueCertPath]) {
      const dn = subjectDn(derOf(certs.read(path)));
      assertEquals(dn, await opensslSubject(path));
    }
    assertEquals(subjectDn(derOf(certs.read(certs.clientCertPath))), certs.clientDn);
    assertEquals(certs.clientDn, "CN=alice,OU=Eng,O=Acme\\, Inc.,C=US");
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});

Deno.test("subjectDn() refuses bytes that are not a certificate", () => {
  assertThrows(() => subjectDn(new Uint8Array([0x30, 0x05, 1])), RangeError);
  assertThrows(() => subjectDn(new Uint8Array([])), RangeError);
});

Deno.test("SslPrincipalMapper: DEFAULT, RULE with case changes, first match wins", () => {
  assertEquals(new SslPrincipalMapper().map("CN=a,O=b"), "CN=a,O=b");
  const m = new SslPrincipalMapper(
    "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/, RULE:^CN=(.*?),OU=(.*?),O=.*$/$1@$2/L, " +
      "RULE:^cn=(.*?),.*$/$1/U, DEFAULT",
  );
  assertEquals(m.map("CN=kafka-svc,OU=ServiceUsers,O=Org"), "kafka-svc");
  assertEquals(m.map("CN=Duke,OU=JavaSoft,O=Sun Microsystems"), "duke@javasoft");
  assertEquals(m.map("cn=duke,o=x"), "DUKE");
  assertEquals(m.map("O=only"), "O=only");
  // a rule must match the whole DN (Java's Matcher.matches)
  assertEquals(new SslPrincipalMapper("RULE:CN=(\\w+)/$1/").map("CN=a,O=b"), null);
  // escaped slashes in pattern and replacement
  assertEquals(new SslPrincipalMapper("RULE:^CN=(.*)\\/x$/a\\/$1/").map("CN=q/x"), "a/q");
});

Deno.test("SslPrincipalMapper refuses malformed rules", () => {
  for (const bad of ["", "RULE:abc", "RULES:^a$/b/", "RULE:^(a$/b/", "DEFAULT,JUNK"]) {
    assertThrows(() => new SslPrincipalMapper(bad), RangeError, bad);
  }
});
