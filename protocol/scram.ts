// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * SCRAM (RFC 5802, RFC 7677) as Kafka uses it for SASL `SCRAM-SHA-256` and `SCRAM-SHA-512`:
 * the key derivations (PBKDF2 salted password, ClientKey, StoredKey, ServerKey, signatures), the
 * four messages' text forms, and Kafka's mechanism numbers (AlterUserScramCredentials,
 * DescribeUserScramCredentials). Shared by the broker (`server/security/`) and our client
 * (`client/sasl.ts`); the crypto is the runtime's `crypto.subtle`.
 *
 * Channel binding is not supported (Kafka's neither): a client-first message must start with
 * `n,` or `y,`.
 *
 * @module
 */

/** A SCRAM mechanism Kafka knows. */
export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";

/** Properties of one SCRAM mechanism. */
export interface ScramMechanismInfo {
  /** SASL name, e.g. `SCRAM-SHA-256`. */
  readonly name: ScramMechanism;
  /** Kafka's number for it in the credential APIs (`ScramMechanism.type`). */
  readonly type: number;
  /** The `crypto.subtle` hash. */
  readonly hash: "SHA-256" | "SHA-512";
  /** Bytes of the hash output. */
  readonly hashBytes: number;
  /** Lowest iteration count Kafka accepts (`ScramMechanism.minIterations`). */
  readonly minIterations: number;
}

/** Largest iteration count Kafka accepts in AlterUserScramCredentials. */
export const SCRAM_MAX_ITERATIONS = 16384;

/** Every SCRAM mechanism, by SASL name. */
export const SCRAM_MECHANISMS: ReadonlyMap<ScramMechanism, ScramMechanismInfo> = new Map([
  ["SCRAM-SHA-256", {
    name: "SCRAM-SHA-256",
    type: 1,
    hash: "SHA-256",
    hashBytes: 32,
    minIterations: 4096,
  }],
  ["SCRAM-SHA-512", {
    name: "SCRAM-SHA-512",
    type: 2,
    hash: "SHA-512",
    hashBytes: 64,
    minIterations: 4096,
  }],
]);

/**
 * The mechanism with Kafka's number `type` (1: SCRAM-SHA-256, 2: SCRAM-SHA-512).
 *
 * @example
 * ```ts
 * import { scramMechanismByType } from "./scram.ts";
 * console.assert(scramMechanismByType(2)?.name === "SCRAM-SHA-512");
 * ```
 *
 * @param type Kafka's mechanism number.
 * @returns The mechanism, or undefined for an unknown number.
 */
export function scramMechanismByType(type: number): ScramMechanismInfo | undefined {
  for (const m of SCRAM_MECHANISMS.values()) if (m.type === type) return m;
  return undefined;
}

/** What the server keeps of a SCRAM password (RFC 5802 section 3): never the password. */
export interface ScramCredential {
  /** The salt. */
  salt: Uint8Array;
  /** PBKDF2 iterations. */
  iterations: number;
  /** H(HMAC(SaltedPassword, "Client Key")). */
  storedKey: Uint8Array;
  /** HMAC(SaltedPassword, "Server Key"). */
  serverKey: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

async function hmac(
  mech: ScramMechanismInfo,
  key: Uint8Array,
  data: Uint8Array,
): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: mech.hash },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data as Uint8Array<ArrayBuffer>));
}

async function hash(mech: ScramMechanismInfo, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(mech.hash, data as Uint8Array<ArrayBuffer>));
}

/**
 * SaltedPassword := Hi(Normalize(password), salt, i): PBKDF2 with HMAC over the mechanism's hash.
 * The password is used as UTF-8 without SASLprep (as Kafka's `ScramFormatter`).
 *
 * @example
 * ```ts
 * import { SCRAM_MECHANISMS, saltedPassword } from "./scram.ts";
 * const sp = await saltedPassword(SCRAM_MECHANISMS.get("SCRAM-SHA-256")!, "pw",
 *   new Uint8Array(16), 4096);
 * console.assert(sp.length === 32);
 * ```
 *
 * @param mech The mechanism.
 * @param password The password.
 * @param salt The salt.
 * @param iterations PBKDF2 iterations.
 * @returns The salted password (hash-sized).
 */
export async function saltedPassword(
  mech: ScramMechanismInfo,
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: mech.hash, salt: salt as Uint8Array<ArrayBuffer>, iterations },
    key,
    mech.hashBytes * 8,
  );
  return new Uint8Array(bits);
}

/**
 * The stored credential of a salted password: StoredKey and ServerKey (what
 * AlterUserScramCredentials turns a client's `salted_password` into).
 *
 * @param mech The mechanism.
 * @param salted The salted password.
 * @param salt The salt it was made with.
 * @param iterations The iterations it was made with.
 * @returns The credential.
 */
export async function credentialFromSaltedPassword(
  mech: ScramMechanismInfo,
  salted: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Promise<ScramCredential> {
  const clientKey = await hmac(mech, salted, encoder.encode("Client Key"));
  return {
    salt: salt.slice(),
    iterations,
    storedKey: await hash(mech, clientKey),
    serverKey: await hmac(mech, salted, encoder.encode("Server Key")),
  };
}

/** Compare two byte strings in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ (b[i] ?? 0);
  return diff === 0;
}

/** Base64 of bytes. */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Bytes of strict base64; throws {@linkcode ScramError} if malformed. */
export function fromBase64(text: string, what: string): Uint8Array {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    throw new ScramError(`${what} is not valid base64`);
  }
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A malformed or refused SCRAM message; the message says why. */
export class ScramError extends Error {
  /**
   * Create the error.
   *
   * @param message What is wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "ScramError";
  }
}

/** A random printable nonce (base64 of 24 random bytes, no `,`). */
export function scramNonce(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(24)));
}

/** A SCRAM user name as written in a message: `=` -> `=3D`, `,` -> `=2C` (RFC 5802). */
export function encodeSaslName(name: string): string {
  return name.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

/** The reverse of {@linkcode encodeSaslName}; any other `=` escape is an error. */
export function decodeSaslName(text: string): string {
  if (/=(?!2C|3D)/.test(text)) throw new ScramError(`invalid user name encoding "${text}"`);
  return text.replace(/=2C/g, ",").replace(/=3D/g, "=");
}

/** Attributes `k=v` of a SCRAM message, in order; throws on a malformed one. */
function attributes(text: string, what: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of text.split(",")) {
    const m = /^([A-Za-z]+)=(.*)$/s.exec(part);
    if (m === null) throw new ScramError(`malformed ${what}: attribute "${part}" is not k=v`);
    out.push([m[1], m[2]]);
  }
  return out;
}

/** A parsed client-first message. */
export interface ClientFirstMessage {
  /** The GS2 header, e.g. `n,,` (its base64 must come back in the client-final `c=`). */
  gs2Header: string;
  /** The authorization id (`a=`), or `""`. */
  authzid: string;
  /** The user name, decoded. */
  username: string;
  /** The client's nonce. */
  nonce: string;
  /** Extensions after the nonce (`key=value`, e.g. Kafka's `tokenauth=true`). */
  extensions: Record<string, string>;
  /** The message without its GS2 header, for the AuthMessage. */
  bare: string;
}

/**
 * Parse a client-first message: `gs2-header n=user,r=nonce[,ext=value...]`.
 *
 * @param bytes The message.
 * @returns Its parts.
 * @throws {ScramError} If malformed or asking for channel binding.
 */
export function parseClientFirst(bytes: Uint8Array): ClientFirstMessage {
  const text = utf8(bytes, "client-first message");
  const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/s.exec(text);
  if (m === null) {
    throw new ScramError(
      `malformed client-first message: expected "n,," or "y,," then n=user,r=nonce`,
    );
  }
  if (m[1].startsWith("p=")) {
    throw new ScramError("channel binding (p=) is not supported");
  }
  const bare = m[3];
  const attrs = attributes(bare, "client-first message");
  if (attrs.length < 2 || attrs[0][0] !== "n" || attrs[1][0] !== "r") {
    throw new ScramError("malformed client-first message: expected n=user,r=nonce");
  }
  const username = decodeSaslName(attrs[0][1]);
  const nonce = attrs[1][1];
  if (username === "") throw new ScramError("malformed client-first message: empty user name");
  if (nonce === "" || !/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) {
    throw new ScramError("malformed client-first message: invalid nonce");
  }
  const extensions: Record<string, string> = {};
  for (const [k, v] of attrs.slice(2)) extensions[k] = v;
  const authzid = m[2] === undefined ? "" : decodeSaslName(m[2].slice(2));
  return { gs2Header: `${m[1]},${m[2] ?? ""},`, authzid, username, nonce, extensions, bare };
}

/** A parsed client-final message. */
export interface ClientFinalMessage {
  /** The channel binding (`c=`), decoded. */
  channelBinding: Uint8Array;
  /** The combined nonce (`r=`). */
  nonce: string;
  /** The client proof (`p=`). */
  proof: Uint8Array;
  /** The message up to (not including) `,p=`, for the AuthMessage. */
  withoutProof: string;
}

/**
 * Parse a client-final message: `c=biws,r=nonce[,ext...],p=proof`.
 *
 * @param bytes The message.
 * @returns Its parts.
 * @throws {ScramError} If malformed.
 */
export function parseClientFinal(bytes: Uint8Array): ClientFinalMessage {
  const text = utf8(bytes, "client-final message");
  const cut = text.lastIndexOf(",p=");
  if (cut < 0) throw new ScramError("malformed client-final message: no proof (p=)");
  const withoutProof = text.slice(0, cut);
  const attrs = attributes(withoutProof, "client-final message");
  if (attrs.length < 2 || attrs[0][0] !== "c" || attrs[1][0] !== "r") {
    throw new ScramError("malformed client-final message: expected c=...,r=...,p=...");
  }
  return {
    channelBinding: fromBase64(attrs[0][1], "channel binding (c=)"),
    nonce: attrs[1][1],
    proof: fromBase64(text.slice(cut + 3), "client proof (p=)"),
    withoutProof,
  };
}

/** A parsed server-first message (client side). */
export interface ServerFirstMessage {
  /** The combined nonce. */
  nonce: string;
  /** The salt. */
  salt: Uint8Array;
  /** The iterations. */
  iterations: number;
  /** The message text, for the AuthMessage. */
  text: string;
}

/**
 * Parse a server-first message: `r=nonce,s=salt,i=iterations`.
 *
 * @param bytes The message.
 * @returns Its parts.
 * @throws {ScramError} If malformed (or an `e=` error from the server).
 */
export function parseServerFirst(bytes: Uint8Array): ServerFirstMessage {
  const text = utf8(bytes, "server-first message");
  if (text.startsWith("e=")) throw new ScramError(`server error: ${text.slice(2)}`);
  const attrs = attributes(text, "server-first message");
  if (attrs.length < 3 || attrs[0][0] !== "r" || attrs[1][0] !== "s" || attrs[2][0] !== "i") {
    throw new ScramError("malformed server-first message: expected r=...,s=...,i=...");
  }
  const iterations = Number(attrs[2][1]);
  if (!/^\d{1,9}$/.test(attrs[2][1]) || iterations < 1) {
    throw new ScramError(`malformed server-first message: iterations "${attrs[2][1]}"`);
  }
  return {
    nonce: attrs[0][1],
    salt: fromBase64(attrs[1][1], "salt (s=)"),
    iterations,
    text,
  };
}

function utf8(bytes: Uint8Array, what: string): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new ScramError(`${what} is not valid UTF-8`);
  }
}

/**
 * The server's side of one SCRAM exchange: feed it the client-first message, send what it
 * returns, feed it the client-final message, send the server-final message it returns.
 *
 * @example
 * ```ts ignore
 * const server = new ScramServer(mech, (user) => store.get(user, mech.name));
 * const serverFirst = await server.first(clientFirstBytes);
 * const serverFinal = await server.final(clientFinalBytes);
 * console.log(server.username);
 * ```
 */
export class ScramServer {
  readonly #mech: ScramMechanismInfo;
  readonly #lookup: (user: string) => ScramCredential | undefined;
  readonly #serverNonce: () => string;
  #first: ClientFirstMessage | undefined;
  #serverFirst = "";
  #nonce = "";
  #credential: ScramCredential | undefined;
  /** The authenticated user name once {@linkcode ScramServer.final} succeeded. */
  username = "";
  /** Extensions of the client-first message. */
  extensions: Record<string, string> = {};

  /**
   * Start an exchange.
   *
   * @param mech The mechanism.
   * @param lookup The stored credential of a user, or undefined.
   * @param serverNonce Makes the server's part of the nonce (random; fixed only in benches).
   */
  constructor(
    mech: ScramMechanismInfo,
    lookup: (user: string) => ScramCredential | undefined,
    serverNonce: () => string = scramNonce,
  ) {
    this.#mech = mech;
    this.#lookup = lookup;
    this.#serverNonce = serverNonce;
  }

  /**
   * Handle the client-first message.
   *
   * @param bytes The client-first message.
   * @returns The server-first message.
   * @throws {ScramError} If malformed, the user is unknown, or the authzid is another user.
   */
  first(bytes: Uint8Array): Uint8Array {
    if (this.#first !== undefined) throw new ScramError("unexpected second client-first message");
    const first = parseClientFirst(bytes);
    if (first.authzid !== "" && first.authzid !== first.username) {
      throw new ScramError(
        "Authentication failed: Client requested an authorization id that is different from username",
      );
    }
    if (first.extensions["tokenauth"] === "true") {
      throw new ScramError("Authentication failed: delegation tokens are not supported");
    }
    const credential = this.#lookup(first.username);
    if (credential === undefined) {
      throw new ScramError("Authentication failed: Invalid user credentials");
    }
    this.#first = first;
    this.#credential = credential;
    this.extensions = first.extensions;
    this.#nonce = first.nonce + this.#serverNonce();
    this.#serverFirst = `r=${this.#nonce},s=${
      toBase64(credential.salt)
    },i=${credential.iterations}`;
    return encoder.encode(this.#serverFirst);
  }

  /**
   * Handle the client-final message: check the channel binding, nonce and proof.
   *
   * @param bytes The client-final message.
   * @returns The server-final message (`v=ServerSignature`).
   * @throws {ScramError} If malformed or the proof is wrong.
   */
  async final(bytes: Uint8Array): Promise<Uint8Array> {
    const first = this.#first;
    const credential = this.#credential;
    if (first === undefined || credential === undefined) {
      throw new ScramError("unexpected client-final message before client-first");
    }
    this.#first = undefined; // one attempt
    const final = parseClientFinal(bytes);
    // Kafka's ScramSaslServer only checks that the nonce ends with the combined nonce:
    // librdkafka (at least to 2.x) sends the client nonce twice, `r=<cnonce><cnonce><snonce>`.
    if (!final.nonce.endsWith(this.#nonce)) {
      throw new ScramError(
        "Authentication failed: Invalid client nonce in the final client message.",
      );
    }
    if (!constantTimeEqual(final.channelBinding, encoder.encode(first.gs2Header))) {
      throw new ScramError("Authentication failed: invalid channel binding (c=)");
    }
    if (final.proof.length !== this.#mech.hashBytes) {
      throw new ScramError("Authentication failed: Invalid client credentials");
    }
    const authMessage = encoder.encode(`${first.bare},${this.#serverFirst},${final.withoutProof}`);
    const clientSignature = await hmac(this.#mech, credential.storedKey, authMessage);
    const clientKey = new Uint8Array(final.proof.length);
    for (let i = 0; i < clientKey.length; i++) clientKey[i] = final.proof[i] ^ clientSignature[i];
    if (!constantTimeEqual(await hash(this.#mech, clientKey), credential.storedKey)) {
      throw new ScramError("Authentication failed: Invalid user credentials");
    }
    const serverSignature = await hmac(this.#mech, credential.serverKey, authMessage);
    this.username = first.username;
    return encoder.encode(`v=${toBase64(serverSignature)}`);
  }
}

/**
 * The client's side of one SCRAM exchange (our client and tests).
 *
 * @example
 * ```ts ignore
 * const c = new ScramClient(mech, "alice", "secret");
 * const serverFirst = await send(c.first());
 * const serverFinal = await send(await c.final(serverFirst));
 * await c.verify(serverFinal);
 * ```
 */
export class ScramClient {
  readonly #mech: ScramMechanismInfo;
  readonly #username: string;
  readonly #password: string;
  readonly #nonce: string;
  readonly #derive: typeof saltedPassword;
  #bare = "";
  #authMessage: Uint8Array | undefined;
  #salted: Uint8Array | undefined;

  /**
   * Start an exchange.
   *
   * @param mech The mechanism.
   * @param username The user name.
   * @param password The password.
   * @param nonce The client nonce (random by default).
   * @param derive The salted password of the server's salt and iterations: PBKDF2
   *   ({@linkcode saltedPassword}) by default; a client that logs in again and again with one
   *   password (a broker's inter-broker connections) may remember it.
   */
  constructor(
    mech: ScramMechanismInfo,
    username: string,
    password: string,
    nonce: string = scramNonce(),
    derive: typeof saltedPassword = saltedPassword,
  ) {
    this.#mech = mech;
    this.#username = username;
    this.#password = password;
    this.#nonce = nonce;
    this.#derive = derive;
  }

  /** The client-first message (`n,,n=user,r=nonce`). */
  first(): Uint8Array {
    this.#bare = `n=${encodeSaslName(this.#username)},r=${this.#nonce}`;
    return encoder.encode(`n,,${this.#bare}`);
  }

  /**
   * The client-final message for the server-first message.
   *
   * @param serverFirst The server-first message.
   * @returns The client-final message.
   * @throws {ScramError} If the server's message is malformed or its nonce is not ours.
   */
  async final(serverFirst: Uint8Array): Promise<Uint8Array> {
    const sf = parseServerFirst(serverFirst);
    if (!sf.nonce.startsWith(this.#nonce) || sf.nonce.length === this.#nonce.length) {
      throw new ScramError("server nonce does not extend the client nonce");
    }
    if (sf.iterations < this.#mech.minIterations) {
      throw new ScramError(
        `server asks for ${sf.iterations} iterations, fewer than ${this.#mech.minIterations}`,
      );
    }
    const salted = await this.#derive(this.#mech, this.#password, sf.salt, sf.iterations);
    this.#salted = salted;
    const withoutProof = `c=biws,r=${sf.nonce}`;
    this.#authMessage = encoder.encode(`${this.#bare},${sf.text},${withoutProof}`);
    const clientKey = await hmac(this.#mech, salted, encoder.encode("Client Key"));
    const storedKey = await hash(this.#mech, clientKey);
    const signature = await hmac(this.#mech, storedKey, this.#authMessage);
    const proof = new Uint8Array(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ signature[i];
    return encoder.encode(`${withoutProof},p=${toBase64(proof)}`);
  }

  /**
   * Check the server-final message's signature: the server knows the credential.
   *
   * @param serverFinal The server-final message.
   * @throws {ScramError} If the server reports an error or its signature is wrong.
   */
  async verify(serverFinal: Uint8Array): Promise<void> {
    const text = utf8(serverFinal, "server-final message");
    if (text.startsWith("e=")) throw new ScramError(`server error: ${text.slice(2)}`);
    if (!text.startsWith("v=") || this.#salted === undefined || !this.#authMessage) {
      throw new ScramError("malformed server-final message");
    }
    const serverKey = await hmac(this.#mech, this.#salted, encoder.encode("Server Key"));
    const expected = await hmac(this.#mech, serverKey, this.#authMessage);
    if (!constantTimeEqual(fromBase64(text.slice(2), "server signature (v=)"), expected)) {
      throw new ScramError("invalid server signature: the server does not know the credential");
    }
  }
}
