// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The principal of a TLS client certificate, as Kafka's `DefaultKafkaPrincipalBuilder` makes it:
 * the certificate's subject as an RFC 2253 distinguished name (what Java's
 * `X500Principal.getName()` returns: last RDN first, `CN=alice,OU=Eng,O=Acme\, Inc.,C=US`),
 * then rewritten by `ssl.principal.mapping.rules` (Kafka's `SslPrincipalMapper`).
 *
 * @module
 */

/** Short names Java's `X500Principal` uses in RFC 2253 form; other attributes are dotted OIDs. */
const RFC2253_KEYWORDS: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "STREET",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "0.9.2342.19200300.100.1.25": "DC",
  "0.9.2342.19200300.100.1.1": "UID",
};

interface Der {
  tag: number;
  start: number;
  end: number;
  /** Offset of the whole element (tag byte). */
  at: number;
}

function readDer(b: Uint8Array, at: number, limit: number): Der {
  if (at + 2 > limit) throw new RangeError("invalid certificate: truncated DER element");
  const tag = b[at];
  let len = b[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) {
      throw new RangeError("invalid certificate: bad DER length");
    }
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i];
    start += n;
  }
  if (start + len > limit) throw new RangeError("invalid certificate: DER element overruns");
  return { tag, start, end: start + len, at };
}

function children(b: Uint8Array, el: Der): Der[] {
  const out: Der[] = [];
  for (let p = el.start; p < el.end;) {
    const c = readDer(b, p, el.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

function oidText(b: Uint8Array, el: Der): string {
  const parts: number[] = [];
  let v = 0;
  for (let i = el.start; i < el.end; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if ((b[i] & 0x80) === 0) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Escape an attribute value as RFC 2253 section 2.4 asks (Java does the same). */
function escapeValue(v: string): string {
  let out = v.replace(/[,+"\\<>;]/g, (c) => `\\${c}`);
  if (out.startsWith("#") || out.startsWith(" ")) out = `\\${out}`;
  if (out.endsWith(" ") && !out.endsWith("\\ ")) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function decodeString(b: Uint8Array, el: Der): string | null {
  const bytes = b.subarray(el.start, el.end);
  switch (el.tag) {
    case 0x0c: // UTF8String
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x14: // TeletexString (Latin-1 in practice)
      return el.tag === 0x14
        ? String.fromCharCode(...bytes)
        : new TextDecoder("utf-8", { fatal: false }).decode(bytes);
    case 0x1e: { // BMPString
      let s = "";
      for (let i = 0; i + 1 < bytes.length; i += 2) {
        s += String.fromCharCode((bytes[i] << 8) | bytes[i + 1]);
      }
      return s;
    }
    default:
      return null;
  }
}

/**
 * The subject of a DER certificate as an RFC 2253 distinguished name, in the form Java's
 * `X500Principal.getName()` gives (and so Kafka's `ssl.principal.mapping.rules` see).
 *
 * @example
 * ```ts ignore
 * import { subjectDn } from "./ssl_principal.ts";
 * const der = new Uint8Array(await Deno.readFile("client.der"));
 * console.log(subjectDn(der)); // CN=alice,OU=Eng,O=Acme\, Inc.,C=US
 * ```
 *
 * @param der The certificate, DER-encoded.
 * @returns The subject DN; `""` for an empty subject.
 * @throws {RangeError} If the certificate is not well-formed DER.
 */
export function subjectDn(der: Uint8Array): string {
  const cert = readDer(der, 0, der.length);
  const tbs = children(der, cert)[0];
  if (tbs === undefined) throw new RangeError("invalid certificate: no TBSCertificate");
  const fields = children(der, tbs);
  // [0] version (optional), serialNumber, signature, issuer, validity, subject
  let i = fields[0]?.tag === 0xa0 ? 1 : 0;
  i += 4;
  const subject = fields[i];
  if (subject === undefined || subject.tag !== 0x30) {
    throw new RangeError("invalid certificate: no subject");
  }
  const rdns: string[] = [];
  for (const set of children(der, subject)) {
    const avas: string[] = [];
    for (const ava of children(der, set)) {
      const [oidEl, valueEl] = children(der, ava);
      if (oidEl === undefined || valueEl === undefined) {
        throw new RangeError("invalid certificate: malformed attribute in subject");
      }
      const oid = oidText(der, oidEl);
      const keyword = RFC2253_KEYWORDS[oid];
      const text = keyword === undefined ? null : decodeString(der, valueEl);
      avas.push(
        text === null
          ? `${keyword ?? oid}=#${hex(der.subarray(valueEl.at, valueEl.end))}`
          : `${keyword}=${escapeValue(text)}`,
      );
    }
    rdns.push(avas.join("+"));
  }
  return rdns.reverse().join(",");
}

interface MappingRule {
  /** `null` for DEFAULT. */
  pattern: RegExp | null;
  replacement: string;
  toCase: "" | "L" | "U";
  text: string;
}

/**
 * Kafka's `ssl.principal.mapping.rules`: `DEFAULT` (the DN unchanged) and
 * `RULE:pattern/replacement/[LU]` (the first rule whose Java-style regular expression matches
 * the whole DN rewrites it; `$1` in the replacement is the first group; `L`/`U` change the case).
 * A DN no rule matches has no principal: the connection is refused, as in Kafka.
 *
 * @example
 * ```ts
 * import { SslPrincipalMapper } from "./ssl_principal.ts";
 * const m = new SslPrincipalMapper("RULE:^CN=(.*?),OU=(.*?)$/$1/L,DEFAULT");
 * console.assert(m.map("CN=Alice,OU=Eng") === "alice");
 * console.assert(m.map("O=x") === "O=x");
 * ```
 */
export class SslPrincipalMapper {
  readonly #rules: MappingRule[];

  /**
   * Parse the rules.
   *
   * @param rules The property's value; default `DEFAULT`.
   * @throws {RangeError} If a rule is malformed.
   */
  constructor(rules = "DEFAULT") {
    this.#rules = parseRules(rules);
  }

  /**
   * Map a DN to a principal name.
   *
   * @param dn The certificate subject in RFC 2253 form.
   * @returns The principal name, or `null` if no rule matches.
   */
  map(dn: string): string | null {
    for (const r of this.#rules) {
      if (r.pattern === null) return dn;
      const m = r.pattern.exec(dn);
      if (m === null || m.index !== 0 || m[0].length !== dn.length) continue;
      let out = dn.replace(r.pattern, r.replacement);
      if (r.toCase === "L") out = out.toLowerCase();
      else if (r.toCase === "U") out = out.toUpperCase();
      return out;
    }
    return null;
  }
}

function parseRules(text: string): MappingRule[] {
  const fail = (what: string): never => {
    throw new RangeError(
      `Invalid value "${text}" for configuration "ssl.principal.mapping.rules": ${what}`,
    );
  };
  const rules: MappingRule[] = [];
  let rest = text.trim();
  if (rest === "") fail("no rule");
  while (rest !== "") {
    let m: RegExpExecArray | null;
    if ((m = /^DEFAULT\s*(?:,\s*|$)/.exec(rest)) !== null) {
      rules.push({ pattern: null, replacement: "", toCase: "", text: "DEFAULT" });
    } else if (
      (m = /^RULE:((?:\\\/|[^/])*)\/((?:\\\/|[^/])*)\/([LU]?)\s*(?:,\s*|$)/.exec(rest)) !== null
    ) {
      let pattern: RegExp;
      try {
        pattern = new RegExp(m[1].replaceAll("\\/", "/"));
      } catch (e) {
        return fail(`bad pattern "${m[1]}": ${e instanceof Error ? e.message : e}`);
      }
      rules.push({
        pattern,
        replacement: m[2].replaceAll("\\/", "/"),
        toCase: m[3] as "" | "L" | "U",
        text: m[0],
      });
    } else {
      return fail(`"${rest}" is not DEFAULT or RULE:pattern/replacement/[LU]`);
    }
    rest = rest.slice(m[0].length);
  }
  return rules;
}
