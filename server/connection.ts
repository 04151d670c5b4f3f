// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * One client TCP connection. A read loop splits the byte stream into size-prefixed frames and
 * queues them (up to {@linkcode MAX_QUEUED_FRAMES}, then it stops reading: back-pressure); the
 * serve loop hands them to the dispatcher one at a time (as Kafka does, so responses leave in
 * request order) and writes the response chunks. Writing a response overlaps with handling the
 * next request, but at most one write is outstanding. Reading ahead also notices a client that
 * goes away while a request waits (long-poll fetch): `ConnectionInfo.closed` aborts.
 *
 * @module
 */

import type { Logger } from "./logger.ts";

/** What the connection knows about itself, passed to every handler. */
export interface ConnectionInfo {
  /** Broker-unique connection number. */
  readonly id: number;
  /** The client's address, `host:port`. */
  readonly remote: string;
  /**
   * Aborted when the connection closes (client gone, refused request, broker shutdown). Always
   * set by the broker; optional so handler tests can build a bare `{ id, remote }`.
   */
  readonly closed?: AbortSignal;
}

/**
 * What a dispatcher does with one frame (without its size prefix): return the response chunks
 * (including the size prefix), `null` for no response (acks=0 Produce), or throw
 * {@linkcode CloseConnection} to drop the connection.
 */
export type FrameDispatcher = (
  frame: Uint8Array,
  conn: ConnectionInfo,
) => Promise<Uint8Array[] | null>;

/** Thrown by a dispatcher to close the connection after logging `message`. */
export class CloseConnection extends Error {
  /** @param message Why the connection is closed. */
  constructor(message: string) {
    super(message);
    this.name = "CloseConnection";
  }
}

const READ_CHUNK = 64 * 1024;

/** Frames read ahead of the one being handled before the connection stops reading. */
export const MAX_QUEUED_FRAMES = 32;

/** Serves one accepted TCP connection until it closes. */
export class Connection {
  /** Identity passed to handlers. */
  readonly info: ConnectionInfo;
  readonly #conn: Deno.Conn;
  readonly #maxFrame: number;
  readonly #dispatch: FrameDispatcher;
  readonly #log: Logger;
  #buf = new Uint8Array(READ_CHUNK);
  #start = 0;
  #end = 0;
  #closed = false;
  readonly #closedCtl = new AbortController();
  #pendingWrite: Promise<void> = Promise.resolve();
  readonly #queue: Uint8Array[] = [];
  #readDone = false;
  #readError: unknown = null;
  #wakeServe: (() => void) | null = null;
  #wakeReader: (() => void) | null = null;

  /**
   * @param conn The accepted socket.
   * @param id Connection number.
   * @param maxFrame Largest frame accepted (`socket.request.max.bytes`).
   * @param dispatch Handles one frame.
   * @param log Where to report.
   */
  constructor(
    conn: Deno.Conn,
    id: number,
    maxFrame: number,
    dispatch: FrameDispatcher,
    log: Logger,
  ) {
    this.#conn = conn;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.info = { id, remote: `${addr.hostname}:${addr.port}`, closed: this.#closedCtl.signal };
    this.#maxFrame = maxFrame;
    this.#dispatch = dispatch;
    this.#log = log;
  }

  /**
   * Serve requests until the client disconnects, a request is refused, or {@linkcode close}.
   * Never throws.
   */
  async serve(): Promise<void> {
    const who = `connection ${this.info.id} from ${this.info.remote}`;
    const reading = this.#readLoop(who);
    try {
      for (;;) {
        const frame = await this.#nextFrame();
        if (frame === null) break;
        const chunks = await this.#dispatch(frame, this.info);
        if (chunks === null || this.#closed) continue;
        await this.#pendingWrite;
        this.#pendingWrite = this.#writeAll(chunks);
        // A failed write is reported by the next await or at the end.
        this.#pendingWrite.catch(() => {});
      }
      await this.#pendingWrite;
    } catch (e) {
      if (e instanceof CloseConnection) this.#log.error(`Closing ${who}: ${e.message}`);
      else if (!this.#closed && !isDisconnect(e)) {
        this.#log.error(`Closing ${who}: ${e instanceof Error ? e.message : String(e)}`);
      }
    } finally {
      // Let responses already queued reach the client before closing (e.g. those answered
      // before a refused request); close() from the broker ends a write that cannot finish.
      await this.#pendingWrite.catch(() => {});
      this.close();
      await reading;
    }
  }

  async #readLoop(who: string): Promise<void> {
    try {
      for (;;) {
        while (this.#queue.length >= MAX_QUEUED_FRAMES && !this.#closed) {
          await new Promise<void>((resolve) => (this.#wakeReader = resolve));
        }
        if (this.#closed) break;
        const frame = await this.#readFrame(who);
        if (frame === null) break;
        this.#queue.push(frame);
        this.#wakeServe?.();
      }
    } catch (e) {
      this.#readError = e;
    } finally {
      this.#readDone = true;
      this.#closedCtl.abort();
      this.#wakeServe?.();
    }
  }

  /** The next queued frame; null at end of stream; throws the read error after queued frames. */
  async #nextFrame(): Promise<Uint8Array | null> {
    for (;;) {
      const frame = this.#queue.shift();
      if (frame !== undefined) {
        this.#wakeReader?.();
        return frame;
      }
      if (this.#readDone) {
        if (this.#readError !== null) throw this.#readError;
        return null;
      }
      await new Promise<void>((resolve) => (this.#wakeServe = resolve));
      this.#wakeServe = null;
    }
  }

  /** Close the socket; a request in progress finishes but its response is dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closedCtl.abort();
    this.#wakeReader?.();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
  }

  async #fill(): Promise<boolean> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    else if (this.#end === this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  async #readFrame(who: string): Promise<Uint8Array | null> {
    while (this.#end - this.#start < 4) {
      const had = this.#end - this.#start;
      if (!(await this.#fill())) {
        if (had > 0) throw new CloseConnection(`truncated size prefix (${had} of 4 bytes)`);
        return null;
      }
    }
    const b = this.#buf;
    const s = this.#start;
    const size = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) | 0;
    if (size < 0) throw new CloseConnection(`invalid request size ${size}: negative`);
    if (size > this.#maxFrame) {
      throw new CloseConnection(
        `request size ${size} is larger than socket.request.max.bytes (${this.#maxFrame})`,
      );
    }
    this.#start += 4;
    // Each frame gets its own array: handlers may keep views of it (records) after returning.
    const frame = new Uint8Array(size);
    const have = Math.min(size, this.#end - this.#start);
    frame.set(this.#buf.subarray(this.#start, this.#start + have));
    this.#start += have;
    let filled = have;
    while (filled < size) {
      const n = await this.#conn.read(frame.subarray(filled));
      if (n === null) {
        throw new CloseConnection(`${who} ended mid-request (${filled} of ${size} bytes)`);
      }
      filled += n;
    }
    return frame;
  }

  async #writeAll(chunks: Uint8Array[]): Promise<void> {
    for (const c of chunks) {
      let off = 0;
      while (off < c.length) off += await this.#conn.write(c.subarray(off));
    }
  }
}

function isDisconnect(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted ||
    e instanceof Deno.errors.NotConnected || e instanceof Deno.errors.ConnectionAborted;
}
