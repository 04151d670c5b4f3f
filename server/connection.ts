// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * One client TCP connection. A read loop splits the byte stream into size-prefixed frames and
 * queues them (up to {@linkcode MAX_QUEUED_FRAMES} and `maxQueuedBytes`, then it stops reading:
 * back-pressure); the
 * serve loop hands them to the dispatcher one at a time (as Kafka does, so responses leave in
 * request order) and writes the response chunks. Writing a response overlaps with handling the
 * next request, but at most one write is outstanding. Reading ahead also notices a client that
 * goes away while a request waits (long-poll fetch): `ConnectionInfo.closed` aborts.
 *
 * Memory (issue #7): after reading a frame's 4-byte size prefix the connection reserves the
 * frame's size from the broker-wide {@linkcode MemoryPool} (`queued.max.request.bytes`) and from
 * its own budget (`sluice.connection.max.queued.bytes`; a frame is always admitted when nothing
 * else of this connection is held, so one frame larger than the budget still gets through), and
 * stops reading until both grant it. The reservation is released once the request has been
 * handled and its response written (or dropped). The body buffer is allocated as bytes arrive:
 * whole for frames up to {@linkcode EAGER_FRAME_BYTES}, growing by doubling above that, so a
 * prefix announcing 100 MiB followed by silence costs a reservation, not 100 MiB of memory.
 * A connection with no socket activity for `connections.max.idle.ms` (including one that stops
 * half-way through a request) is closed, except while a request is being handled (long poll) or
 * while it waits for memory.
 *
 * @module
 */

import type { Logger } from "./logger.ts";
import { MemoryPool } from "./memory_pool.ts";

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
  /**
   * Create the error.
   *
   * @param message Why the connection is closed.
   */
  constructor(message: string) {
    super(message);
    this.name = "CloseConnection";
  }
}

const READ_CHUNK = 64 * 1024;

/** Frames read ahead of the one being handled before the connection stops reading. */
export const MAX_QUEUED_FRAMES = 32;

/**
 * Frames up to this size get their whole buffer when their prefix is read (the hot path: one
 * allocation, as before); larger ones start with this much and grow as bytes arrive.
 */
export const EAGER_FRAME_BYTES = 1 << 20;

/** Memory and idleness limits of one connection; see {@linkcode Connection}. */
export interface ConnectionLimits {
  /** Broker-wide request memory (`queued.max.request.bytes`); default: unbounded. */
  pool?: MemoryPool;
  /**
   * Most request bytes this connection holds at once: frames read ahead, being handled, or
   * whose response is being written (`sluice.connection.max.queued.bytes`). Default: unbounded.
   */
  maxQueuedBytes?: number;
  /** Close after this long without socket activity (`connections.max.idle.ms`); default never. */
  idleMs?: number;
}

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
  /** Frames read ahead; each holds a reservation of its length. */
  readonly #queue: Uint8Array[] = [];
  readonly #pool: MemoryPool;
  readonly #maxQueuedBytes: number;
  readonly #idleMs: number;
  #queuedBytes = 0;
  #handling = false;
  #waitingMemory = false;
  #lastActivity = Date.now();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #readDone = false;
  #readError: unknown = null;
  #wakeServe: (() => void) | null = null;
  #wakeReader: (() => void) | null = null;

  /**
   * Wrap an accepted socket; call {@linkcode Connection.serve} to run it.
   *
   * @param conn The accepted socket.
   * @param id Connection number.
   * @param maxFrame Largest frame accepted (`socket.request.max.bytes`).
   * @param dispatch Handles one frame.
   * @param log Where to report.
   * @param limits Memory pool, per-connection byte budget and idle timeout.
   */
  constructor(
    conn: Deno.Conn,
    id: number,
    maxFrame: number,
    dispatch: FrameDispatcher,
    log: Logger,
    limits: ConnectionLimits = {},
  ) {
    this.#conn = conn;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.info = { id, remote: `${addr.hostname}:${addr.port}`, closed: this.#closedCtl.signal };
    this.#maxFrame = maxFrame;
    this.#dispatch = dispatch;
    this.#log = log;
    this.#pool = limits.pool ?? new MemoryPool(-1);
    this.#maxQueuedBytes = limits.maxQueuedBytes ?? Infinity;
    this.#idleMs = limits.idleMs ?? Infinity;
  }

  /**
   * Request bytes this connection holds now: frames being read, read ahead, handled, or whose
   * response is being written (what it has reserved from the pool).
   */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  #armIdleTimer(delay: number): void {
    if (this.#closed || this.#idleMs === Infinity) return;
    this.#idleTimer = setTimeout(() => this.#checkIdle(), Math.max(1, delay));
  }

  #checkIdle(): void {
    this.#idleTimer = undefined;
    if (this.#closed) return;
    if (this.#handling || this.#waitingMemory) {
      this.#lastActivity = Date.now();
      this.#armIdleTimer(this.#idleMs);
      return;
    }
    const idle = Date.now() - this.#lastActivity;
    if (idle < this.#idleMs) {
      this.#armIdleTimer(this.#idleMs - idle);
      return;
    }
    this.#log.info(
      `Closing connection ${this.info.id} from ${this.info.remote}: idle for ${idle} ms ` +
        `(connections.max.idle.ms=${this.#idleMs})` +
        (this.#partial > 0 ? `, ${this.#partial} bytes into a request` : ""),
    );
    this.close();
  }

  /** Bytes received of a request frame not complete yet (for the idle log line). */
  #partial = 0;

  /** Give back a handled frame's reservation and let the reader go on. */
  #release(size: number): void {
    this.#queuedBytes -= size;
    this.#pool.release(size);
    this.#wakeReader?.();
  }

  /**
   * Serve requests until the client disconnects, a request is refused, or {@linkcode close}.
   * Never throws.
   */
  async serve(): Promise<void> {
    const who = `connection ${this.info.id} from ${this.info.remote}`;
    this.#armIdleTimer(this.#idleMs);
    const reading = this.#readLoop(who);
    try {
      for (;;) {
        const frame = await this.#nextFrame();
        if (frame === null) break;
        let chunks: Uint8Array[] | null;
        this.#handling = true;
        try {
          chunks = await this.#dispatch(frame, this.info);
        } catch (e) {
          this.#release(frame.length);
          throw e;
        } finally {
          this.#handling = false;
          this.#lastActivity = Date.now();
        }
        if (chunks === null || this.#closed) {
          this.#release(frame.length);
          continue;
        }
        await this.#pendingWrite;
        this.#pendingWrite = this.#writeAll(chunks, frame.length);
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
      // Frames read but never handled, or cut off mid-read.
      if (this.#queuedBytes > 0) this.#release(this.#queuedBytes);
      this.#queue.length = 0;
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
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
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
    this.#lastActivity = Date.now();
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
    await this.#reserve(size);
    if (this.#closed) return null;
    // Each frame gets its own array: handlers may keep views of it (records) after returning.
    let frame = new Uint8Array(size <= EAGER_FRAME_BYTES ? size : EAGER_FRAME_BYTES);
    const have = Math.min(size, this.#end - this.#start);
    frame.set(this.#buf.subarray(this.#start, this.#start + have));
    this.#start += have;
    let filled = have;
    while (filled < size) {
      if (filled === frame.length) {
        // Grow only as bytes actually arrive.
        const grown = new Uint8Array(Math.min(size, frame.length * 2));
        grown.set(frame);
        frame = grown;
      }
      this.#partial = filled;
      const n = await this.#conn.read(frame.subarray(filled));
      if (n === null) {
        throw new CloseConnection(`${who} ended mid-request (${filled} of ${size} bytes)`);
      }
      this.#lastActivity = Date.now();
      filled += n;
    }
    this.#partial = 0;
    return frame; // frame.length === size: the reservation
  }

  /**
   * Wait until this connection's budget and the broker's pool both grant `size` bytes; the
   * connection reads nothing meanwhile (back-pressure).
   */
  async #reserve(size: number): Promise<void> {
    while (
      this.#queuedBytes > 0 && this.#queuedBytes + size > this.#maxQueuedBytes && !this.#closed
    ) {
      // Not `#waitingMemory`: only this connection's own progress (its response writes, which
      // count as activity) frees its budget, so a client that stops reading can still go idle.
      await new Promise<void>((resolve) => (this.#wakeReader = resolve));
      this.#wakeReader = null;
    }
    if (this.#closed) return;
    if (!this.#pool.tryReserve(size)) {
      this.#waitingMemory = true;
      try {
        await this.#pool.reserve(size, this.#closedCtl.signal);
      } catch {
        // Closed while waiting: nothing was reserved.
        this.#waitingMemory = false;
        return;
      }
    }
    this.#waitingMemory = false;
    this.#queuedBytes += size;
  }

  /** Write a response, then release the request's `reserved` bytes (also if the write fails). */
  async #writeAll(chunks: Uint8Array[], reserved: number): Promise<void> {
    try {
      for (const c of chunks) {
        let off = 0;
        while (off < c.length) {
          off += await this.#conn.write(c.subarray(off));
          this.#lastActivity = Date.now();
        }
      }
    } finally {
      this.#release(reserved);
    }
  }
}

function isDisconnect(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted ||
    e instanceof Deno.errors.NotConnected || e instanceof Deno.errors.ConnectionAborted;
}
