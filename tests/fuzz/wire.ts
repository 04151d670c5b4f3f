// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A raw client connection for the fuzzer: writes arbitrary bytes, reads size-prefixed response
 * frames, and gives up on a deadline (by closing the socket, the only way to cancel a read).
 *
 * @module
 */

/** Thrown by {@linkcode RawConnection.readFrame} when the deadline passes. */
export class Deadline extends Error {
  constructor() {
    super("deadline passed");
    this.name = "Deadline";
  }
}

/** One TCP connection to the broker. */
export class RawConnection {
  readonly conn: Deno.TcpConn;
  readonly localPort: number;
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.localPort = (conn.localAddr as Deno.NetAddr).port;
  }

  /**
   * Connects to `127.0.0.1:port`.
   *
   * @param port The broker's port.
   * @returns The connection.
   */
  static async open(port: number): Promise<RawConnection> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new RawConnection(conn);
  }

  /** Whether {@linkcode RawConnection.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Writes all of `bytes`.
   *
   * @param bytes What to send.
   * @throws {Error} If the broker closed the connection.
   */
  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Half-closes (the broker reads EOF). */
  closeWrite(): void {
    try {
      this.conn.closeWrite();
    } catch { /* closed */ }
  }

  /** Closes the socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* closed */ }
  }

  async #fill(deadline: Promise<never>): Promise<boolean> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    else if (this.#end === this.#buf.length) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      } else {
        const grown = new Uint8Array(this.#buf.length * 2);
        grown.set(this.#buf);
        this.#buf = grown;
      }
    }
    const n = await Promise.race([this.conn.read(this.#buf.subarray(this.#end)), deadline]);
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  /**
   * Reads one response frame's payload (after its size prefix).
   *
   * @param deadline Rejects with {@linkcode Deadline} when time is up.
   * @returns The payload, or `null` at end of stream (or on a reset).
   * @throws {Deadline} When the deadline passes first.
   */
  async readFrame(deadline: Promise<never>): Promise<Uint8Array | null> {
    try {
      while (this.#end - this.#start < 4) if (!(await this.#fill(deadline))) return null;
      const size = new DataView(this.#buf.buffer, this.#start, 4).getInt32(0);
      if (size < 0) return null;
      while (this.#end - this.#start < 4 + size) {
        if (this.#end - this.#start + (this.#buf.length - this.#end) < 4 + size) {
          const grown = new Uint8Array(Math.max(this.#buf.length * 2, 4 + size));
          grown.set(this.#buf.subarray(this.#start, this.#end));
          this.#end -= this.#start;
          this.#start = 0;
          this.#buf = grown;
        }
        if (!(await this.#fill(deadline))) return null;
      }
      const out = this.#buf.slice(this.#start + 4, this.#start + 4 + size);
      this.#start += 4 + size;
      return out;
    } catch (e) {
      if (e instanceof Deadline) throw e;
      return null; // reset, or closed by us
    }
  }
}

/**
 * A promise that rejects with {@linkcode Deadline} after `ms`, and its canceller.
 *
 * @param ms Milliseconds.
 * @returns The promise and a function that stops the timer.
 */
export function deadlineAfter(ms: number): { promise: Promise<never>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Deadline()), ms);
  });
  promise.catch(() => {});
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * A size prefix followed by `payload`.
 *
 * @param payload The frame payload.
 * @param size The size to announce (default: the payload's length).
 * @returns The frame bytes.
 */
export function frame(payload: Uint8Array, size: number = payload.length): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setInt32(0, size | 0);
  out.set(payload, 4);
  return out;
}

/**
 * An ApiVersions v0 request (the sentinel sent after each fuzzed frame: its answer proves that
 * the connection still works and that everything before it was handled).
 *
 * @param correlationId Its correlation id.
 * @returns The frame bytes.
 */
export function sentinel(correlationId: number): Uint8Array {
  const out = new Uint8Array(14);
  const v = new DataView(out.buffer);
  v.setInt32(0, 10);
  v.setInt16(4, 18);
  v.setInt16(6, 0);
  v.setInt32(8, correlationId);
  v.setInt16(12, -1);
  return out;
}

/**
 * Sleeps.
 *
 * @param ms Milliseconds.
 * @returns Resolves after `ms`.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
