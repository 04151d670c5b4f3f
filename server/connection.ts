// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * One client TCP connection. A read loop splits the byte stream into size-prefixed frames and
 * queues them (up to {@linkcode MAX_QUEUED_FRAMES} frames or {@linkcode MAX_READ_AHEAD_BYTES}
 * bytes, and `maxQueuedBytes`, then it stops reading: back-pressure); the serve loop hands them to the dispatcher one at a time (as Kafka does, so
 * responses leave in request order) and writes the response chunks. Writing a response overlaps
 * with handling the next request, but at most one write is outstanding. Reading ahead also
 * notices a client that goes away while a request waits (long-poll fetch):
 * `ConnectionInfo.closed` aborts.
 *
 * Memory (issues #7, #11): request bytes are reserved from the broker-wide
 * {@linkcode MemoryPool} (`queued.max.request.bytes`) and from the connection's own bound
 * (`sluice.connection.max.queued.bytes`) as they arrive, never on the size prefix alone. A frame
 * up to {@linkcode SMALL_FRAME_BYTES} waits in the connection's own read buffer until it is
 * whole, then reserves its size as a whole request; a larger frame reserves memory as its bytes
 * arrive ({@linkcode MemoryPool.openFrame}: the buffer starts at what has arrived and grows
 * {@linkcode FRAME_GROWTH} times at a time), so a prefix announcing 100 MiB followed by silence
 * costs nothing and a frame never holds more than {@linkcode FRAME_GROWTH} times what it
 * received plus {@linkcode MIN_FRAME_CHUNK}. While a reservation waits the
 * connection reads nothing (back-pressure) and holds no more. The reservation is released once
 * the request has been handled and its response written (or dropped). A frame larger than the
 * connection's bound is refused (the connection is closed, logged), so one connection never holds
 * more than its bound. Large Produce frames are read into buffers lent by a
 * {@linkcode FrameBufferPool} and given back once handled ({@linkcode ConnectionLimits.frameBuffers},
 * issue #17), so a steady producer costs no allocation per request.
 *
 * Time: a frame that is not complete `sluice.request.read.timeout.ms` after its first byte closes
 * the connection, however slowly its bytes trickle in and whether or not it waits for memory
 * meanwhile (Kafka clients give up on a request after `request.timeout.ms`, 30 s, anyway). A
 * connection with no socket activity for `connections.max.idle.ms` (between requests, or stopped
 * half-way through one) is closed too, except while a request is being handled (long poll) or
 * while it waits for memory.
 *
 * @module
 */

import { concat } from "../protocol/framing.ts";
import type { FrameBufferPool } from "./frame_buffer_pool.ts";
import type { Logger } from "./logger.ts";
import { type FrameReservation, MemoryPool } from "./memory_pool.ts";
import type { SecurityProtocol } from "./config.ts";
import type { RequestScheduler } from "./request_scheduler.ts";
import type { KafkaPrincipal } from "./security/principal.ts";
import { sleep } from "./sleep.ts";
import type { ByteStream } from "./transport.ts";

/** TLS record content types (RFC 8446 5.1), as a plaintext listener tells them from a size. */
const TLS_RECORD_TYPES: ReadonlyMap<number, string> = new Map([
  [0x14, "change_cipher_spec record"],
  [0x15, "alert"],
  [0x16, "handshake"],
  [0x17, "application_data record"],
]);

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
  /**
   * Who the connection acts as, once its listener's authentication (TLS client certificate,
   * SASL) has set it; absent means `User:ANONYMOUS` (`security/principal.ts`). The only mutable
   * field: SASL authentication and re-authentication replace it.
   */
  principal?: KafkaPrincipal;
  /**
   * Set by the broker when the last request broke a client quota (`quotas.ts`): the connection
   * is not read for this many milliseconds after its response (KIP-219), and with
   * {@linkcode ConnectionInfo.throttleDelay} the response itself waits that long (clients older
   * than KIP-219). The connection clears it.
   */
  throttleMs?: number;
  /** The response waits for the throttle time (a request version before KIP-219). */
  throttleDelay?: boolean;
  /**
   * The client software ApiVersions v3+ named (KIP-511), for client metrics subscriptions'
   * `match` (`client_metrics.ts`); set by the ApiVersions handler.
   */
  clientSoftware?: { name: string; version: string };
  /** Name of the listener the connection came in on (e.g. `PLAINTEXT`); absent in handler tests. */
  readonly listenerName?: string;
  /**
   * The security protocol of that listener (`listener.security.protocol.map`): SASL_PLAINTEXT
   * and SASL_SSL connections must authenticate before anything else; absent in handler tests
   * (PLAINTEXT).
   */
  readonly securityProtocol?: SecurityProtocol;
}

/** The listener a {@linkcode Connection} came in on. */
export interface ConnectionListener {
  /** Its name, e.g. `PLAINTEXT` or `EXTERNAL`. */
  name: string;
  /** Its security protocol. */
  securityProtocol: SecurityProtocol;
}

/**
 * What a dispatcher does with one frame (without its size prefix): return the response chunks
 * (including the size prefix), `null` for no response (acks=0 Produce), or throw
 * {@linkcode CloseConnection} to drop the connection. `scratch` is a buffer of the connection's
 * the response may be encoded into (its chunks then views of it): the connection writes into it
 * nothing else until that response is written ({@linkcode RESPONSE_SCRATCH_BYTES}).
 */
export type FrameDispatcher = (
  frame: Uint8Array,
  conn: ConnectionInfo,
  scratch?: Uint8Array<ArrayBuffer>,
) => Promise<Uint8Array[] | null>;

/**
 * Thrown by a dispatcher to close the connection after logging `message`, optionally after
 * writing a last response (a refused SASL authentication).
 */
export class CloseConnection extends Error {
  /**
   * How loudly to log it: `error` for a refused request, `warn` for a misconfigured client (TLS
   * on a plaintext port), `info` for a client that went away.
   */
  readonly level: "error" | "warn" | "info";
  /** Response chunks (with size prefix) written before closing, if any. */
  readonly response: Uint8Array[] | undefined;

  /**
   * Create the error.
   *
   * @param message Why the connection is closed.
   * @param level `info` when the client simply went away (Kafka logs that quietly).
   * @param response A last response to write before closing.
   */
  constructor(
    message: string,
    level: "error" | "warn" | "info" = "error",
    response?: Uint8Array[],
  ) {
    super(message);
    this.name = "CloseConnection";
    this.level = level;
    this.response = response;
  }
}

/**
 * Frames up to this size wait in the connection's read buffer (this size) until they are whole
 * and then reserve their size at once (the hot path: one reservation, one copy). They never wait
 * behind incomplete frames, which may hold only part of the pool.
 */
export const SMALL_FRAME_BYTES = 64 * 1024;

/** Frames read ahead of the one being handled before the connection stops reading. */
export const MAX_QUEUED_FRAMES = 32;

/**
 * Bytes of frames read ahead of the one being handled before the connection stops reading
 * (issue #17): a producer pipelining 1 MB requests had 32 MB read ahead, which only held memory
 * (and pooled frame buffers) while the kernel's socket buffer does the same for free.
 */
export const MAX_READ_AHEAD_BYTES = 4 * 1024 * 1024;

/**
 * Largest buffer a connection keeps for its next small frame of an API it lends buffers to
 * (issue #17): frames up to this size reuse the buffers of handled ones.
 */
export const SPARE_FRAME_BYTES = 16 * 1024;

/** Smallest such buffer: sizes are rounded up to a power of two from here. */
export const MIN_SPARE_FRAME_BYTES = 1024;

/** Most such buffers a connection keeps (a client with a few requests in flight). */
export const MAX_SPARE_FRAMES = 4;

/**
 * Size of each of the two buffers a connection lends its dispatcher to encode responses into
 * (issue #17: a fresh buffer per response cost more than the encoding). Two, because a response
 * is encoded while the previous one is being written; a larger response gets memory of its own.
 */
export const RESPONSE_SCRATCH_BYTES = 1024;

/** The smallest buffer a large frame starts with once its first bytes arrive. */
export const MIN_FRAME_CHUNK = 4096;

/**
 * How many times a large frame's buffer (and reservation) grows when it is full (issue #17):
 * each growth allocates a new buffer and copies what arrived. Doubling took 9 buffers and a copy
 * of the whole frame for a 1 MiB produce request; four times takes 5 (4 KiB, 16 KiB, 64 KiB,
 * 256 KiB, 1 MiB) and copies a third of it.
 */
export const FRAME_GROWTH = 4;

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
  /**
   * Close when a frame is not complete this long after its first byte
   * (`sluice.request.read.timeout.ms`); default never.
   */
  readTimeoutMs?: number;
  /**
   * Largest frame accepted before the connection has a principal (`sasl.server.max.receive.size`,
   * SASL listeners only, as Kafka bounds what an unauthenticated client can send); default: no
   * other bound than `maxFrame`.
   */
  unauthenticatedMaxFrame?: number;
  /**
   * The broker-wide admission of requests in slices (`request_scheduler.ts`): each request
   * waits for its turn before it is handled, so that one connection cannot hold the others.
   * Default: none (every request starts as soon as it is read).
   */
  scheduler?: RequestScheduler;
  /**
   * Pooled buffers for the large frames of some APIs (issue #17): default none (every large
   * frame gets buffers of its own).
   */
  frameBuffers?: FrameLending;
}

/**
 * Which large frames a {@linkcode Connection} reads into pooled buffers, given back to the pool
 * once their request has been handled. Only APIs whose handlers keep no view of their request
 * past their answer may be listed (Produce: its batches are written before it answers, and a
 * batch the hot tail keeps holds its buffer with `FrameBufferPool.retain`); a handler that fails with anything but {@linkcode CloseConnection} keeps its frame's
 * buffer out of the pool. Response chunks lent by the same pool (Fetch records copied out of the
 * hot tail) are given back once written or dropped, whatever the API.
 */
export interface FrameLending {
  /** The pool. */
  pool: FrameBufferPool;
  /** API keys whose frames may use it. */
  apiKeys: ReadonlySet<number>;
}

/** Serves one accepted TCP connection until it closes. */
export class Connection {
  /** Identity passed to handlers. */
  readonly info: ConnectionInfo;
  readonly #conn: ByteStream;
  /** Whether a TLS ClientHello as first bytes means a TLS client on a plaintext listener. */
  readonly #plaintext: boolean;
  #firstFrame = true;
  /**
   * Write a response's chunks as one buffer: `Deno.listenTls` connections cannot turn Nagle's
   * algorithm off (`TlsConn` has no `setNoDelay`), so a response written in two TLS records
   * waited for the client's delayed ACK, ~40 ms per request.
   */
  readonly #coalesce: boolean;
  readonly #maxFrame: number;
  readonly #dispatch: FrameDispatcher;
  readonly #log: Logger;
  #buf = new Uint8Array(SMALL_FRAME_BYTES);
  #start = 0;
  #end = 0;
  #closed = false;
  readonly #closedCtl = new AbortController();
  #pendingWrite: Promise<void> = Promise.resolve();
  /** Whether `#pendingWrite` is still writing (else it has settled: no need to wait for it). */
  #writing = false;
  /** Whether a response write failed, and with what: the serve loop throws it. */
  #writeFailed = false;
  #writeError: unknown = undefined;
  /** Frames read ahead; each holds a reservation of its length. */
  readonly #queue: Uint8Array[] = [];
  /** Bytes of the frames in `#queue`. */
  #queueBytes = 0;
  readonly #pool: MemoryPool;
  readonly #maxQueuedBytes: number;
  readonly #idleMs: number;
  readonly #readTimeoutMs: number;
  readonly #unauthenticatedMaxFrame: number;
  readonly #scheduler: RequestScheduler | undefined;
  readonly #lending: FrameLending | undefined;
  /** Buffers of handled small frames of lent APIs, for the next ones ({@linkcode SPARE_FRAME_BYTES}). */
  readonly #spares: ArrayBuffer[] = [];
  /** The two response buffers lent to the dispatcher in turn (allocated at the first request). */
  #scratch: Uint8Array<ArrayBuffer>[] | undefined;
  /** Requests dispatched: which response buffer is next. */
  #dispatched = 0;
  #queuedBytes = 0;
  #handling = false;
  #waitingMemory = false;
  #lastActivity = Date.now();
  /** Throttled by a client quota until then (ms since the epoch); 0: not throttled. */
  #mutedUntil = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the frame being read first had to wait for bytes or memory; 0 when none is. */
  #frameStart = 0;
  /** The size of the frame being read; -1 while its prefix is incomplete. */
  #frameSize = -1;
  /** Bytes received of the frame being read (or of its prefix), for log lines. */
  #partial = 0;
  #readTimer: ReturnType<typeof setTimeout> | undefined;
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
   * @param limits Memory pool, per-connection bound, idle and read timeouts.
   * @param listener The listener it came in on; default a PLAINTEXT listener named PLAINTEXT.
   */
  constructor(
    conn: ByteStream,
    id: number,
    maxFrame: number,
    dispatch: FrameDispatcher,
    log: Logger,
    limits: ConnectionLimits = {},
    listener: ConnectionListener = { name: "PLAINTEXT", securityProtocol: "PLAINTEXT" },
  ) {
    this.#conn = conn;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.info = {
      id,
      remote: `${addr.hostname}:${addr.port}`,
      closed: this.#closedCtl.signal,
      listenerName: listener.name,
      securityProtocol: listener.securityProtocol,
    };
    this.#plaintext = listener.securityProtocol === "PLAINTEXT" ||
      listener.securityProtocol === "SASL_PLAINTEXT";
    this.#coalesce = !this.#plaintext;
    this.#maxFrame = maxFrame;
    this.#dispatch = dispatch;
    this.#log = log;
    this.#pool = limits.pool ?? new MemoryPool(-1);
    this.#maxQueuedBytes = limits.maxQueuedBytes ?? Infinity;
    this.#idleMs = limits.idleMs ?? Infinity;
    this.#readTimeoutMs = limits.readTimeoutMs ?? Infinity;
    this.#unauthenticatedMaxFrame = limits.unauthenticatedMaxFrame ?? Infinity;
    this.#scheduler = limits.scheduler;
    this.#lending = limits.frameBuffers;
  }

  /**
   * Request bytes this connection holds now: the frame being received, frames read ahead,
   * handled, or whose response is being written (what it has reserved from the pool). Never more
   * than `maxQueuedBytes`.
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
    if (this.#handling || this.#waitingMemory || this.#mutedUntil > Date.now()) {
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

  /**
   * The frame being read has to wait (for bytes or memory): start its read timeout unless it
   * runs already. A frame that arrives whole with one read never starts it.
   */
  #frameWaiting(): void {
    if (this.#frameStart !== 0 || this.#readTimeoutMs === Infinity) return;
    this.#frameStart = Date.now();
    if (this.#readTimer === undefined) this.#armReadTimer(this.#readTimeoutMs);
  }

  /** The frame being read is whole (or the connection ends): its read timeout stops. */
  #frameDone(): void {
    this.#frameStart = 0;
    this.#partial = 0;
  }

  #armReadTimer(delay: number): void {
    if (this.#closed) return;
    this.#readTimer = setTimeout(() => this.#checkRead(), Math.max(1, delay));
  }

  // One timer per connection, re-armed lazily: completing a frame costs no timer call.
  #checkRead(): void {
    this.#readTimer = undefined;
    if (this.#closed || this.#frameStart === 0) return;
    const elapsed = Date.now() - this.#frameStart;
    if (elapsed < this.#readTimeoutMs) {
      this.#armReadTimer(this.#readTimeoutMs - elapsed);
      return;
    }
    const got = this.#frameSize < 0
      ? `${this.#partial} of 4 size-prefix bytes received`
      : `${this.#partial} of ${this.#frameSize} bytes received`;
    this.#log.warn(
      `Closing connection ${this.info.id} from ${this.info.remote}: request not complete ` +
        `${elapsed} ms after its first byte ` +
        `(sluice.request.read.timeout.ms=${this.#readTimeoutMs}), ${got}` +
        (this.#waitingMemory ? ", waiting for request memory" : ""),
    );
    this.close();
  }

  /** A frame whose handler is done with it: its buffer may take another frame. */
  #give(frame: Uint8Array): void {
    if (this.#lending === undefined) return;
    if (frame.length > SMALL_FRAME_BYTES) this.#lending.pool.give(frame);
    else this.#giveSmall(frame);
  }

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
        const frame = this.#shiftFrame() ?? await this.#nextFrame();
        if (frame === null) break;
        if (this.#mutedUntil !== 0) await this.#muted();
        // One request per turn: the others' requests read meanwhile go first (issue #17).
        const turn = this.#scheduler?.admit(this.info.id);
        if (turn !== undefined) await turn;
        if (this.#closed) {
          this.#give(frame);
          this.#release(frame.length);
          continue;
        }
        let chunks: Uint8Array[] | null;
        this.#handling = true;
        try {
          // the response of two requests ago has been written: its buffer is free
          this.#scratch ??= [
            new Uint8Array(RESPONSE_SCRATCH_BYTES),
            new Uint8Array(RESPONSE_SCRATCH_BYTES),
          ];
          chunks = await this.#dispatch(frame, this.info, this.#scratch[this.#dispatched++ & 1]);
          // handled: its buffer may take the next frame (the handler keeps no view of it)
          this.#give(frame);
        } catch (e) {
          // refused or dropped, with the handler done; any other failure may leave a view behind
          if (e instanceof CloseConnection) this.#give(frame);
          if (e instanceof CloseConnection && e.response !== undefined && !this.#closed) {
            // A last answer (refused authentication), written before the connection closes.
            await this.#pendingWrite;
            this.#writing = true;
            this.#pendingWrite = this.#writeAll(e.response, frame.length);
            this.#pendingWrite.catch(() => {});
          } else this.#release(frame.length);
          throw e;
        } finally {
          this.#handling = false;
          this.#lastActivity = Date.now();
        }
        if (this.info.throttleMs !== undefined) {
          // a quota broken (KIP-219): nothing more is read or handled until the time is up; an
          // old client's response itself waits
          const ms = this.info.throttleMs;
          this.info.throttleMs = undefined;
          this.#mutedUntil = Date.now() + ms;
          if (this.info.throttleDelay === true) await this.#muted();
        }
        if (chunks === null || this.#closed) {
          if (chunks !== null) { for (const c of chunks) this.#lending?.pool.give(c); }
          this.#release(frame.length);
          continue;
        }
        // the previous response is written (its failure thrown) before the next one starts
        if (this.#writing) await this.#pendingWrite;
        else if (this.#writeFailed) throw this.#writeError;
        this.#writing = true;
        this.#pendingWrite = this.#writeAll(chunks, frame.length);
        // A failed write is reported by the next await or at the end.
        this.#pendingWrite.catch(ignore);
      }
      await this.#pendingWrite;
    } catch (e) {
      if (e instanceof CloseConnection) {
        if (e.level === "info") this.#log.info(`Closing ${who}: ${e.message}`);
        else if (e.level === "warn") this.#log.warn(`Closing ${who}: ${e.message}`);
        else this.#log.error(`Closing ${who}: ${e.message}`);
      } else if (!this.#closed && !isDisconnect(e)) {
        this.#log.error(`Closing ${who}: ${e instanceof Error ? e.message : String(e)}`);
      }
    } finally {
      // Let responses already queued reach the client before closing (e.g. those answered
      // before a refused request); close() from the broker ends a write that cannot finish.
      await this.#pendingWrite.catch(() => {});
      this.close();
      await reading;
      // Frames read but never handled (a frame cut off mid-read gave its memory back already).
      if (this.#queuedBytes > 0) this.#release(this.#queuedBytes);
      for (const frame of this.#queue) this.#lending?.pool.give(frame);
      this.#queue.length = 0;
      this.#queueBytes = 0;
    }
  }

  /** Wait out a quota's throttle time (KIP-219 muting); a close ends the wait. */
  async #muted(): Promise<void> {
    for (;;) {
      const left = this.#mutedUntil - Date.now();
      if (left <= 0 || this.#closed) break;
      await sleep(left, this.#closedCtl.signal);
    }
    this.#mutedUntil = 0;
    this.#lastActivity = Date.now();
  }

  async #readLoop(who: string): Promise<void> {
    try {
      for (;;) {
        if (this.#mutedUntil !== 0 && this.#mutedUntil > Date.now()) {
          // throttled: the socket is not read meanwhile (Kafka mutes the channel)
          await sleep(this.#mutedUntil - Date.now(), this.#closedCtl.signal);
          continue;
        }
        while (
          (this.#queue.length >= MAX_QUEUED_FRAMES || this.#queueBytes >= MAX_READ_AHEAD_BYTES) &&
          !this.#closed
        ) {
          await new Promise<void>((resolve) => (this.#wakeReader = resolve));
        }
        if (this.#closed) break;
        // the hot path (issue #17): a whole small frame already read is taken without waiting
        let frame: Uint8Array | null | undefined = this.#takeBuffered();
        if (frame === undefined) {
          if (this.#start === this.#end) {
            // between requests: one read, then look again (only connections.max.idle.ms applies)
            this.#start = this.#end = 0;
            const n = await this.#conn.read(this.#buf);
            if (n === null) break;
            this.#end = n;
            this.#lastActivity = Date.now();
            continue;
          }
          frame = await this.#readFrame(who);
          if (frame === null) break;
        }
        this.#queue.push(frame);
        this.#queueBytes += frame.length;
        this.#wakeServe?.();
      }
    } catch (e) {
      // Once closed here (idle, read timeout, broker shutdown) a failed read is no news.
      if (!this.#closed) this.#readError = e;
    } finally {
      this.#frameDone();
      this.#readDone = true;
      this.#closedCtl.abort();
      this.#wakeServe?.();
    }
  }

  /** The next queued frame if one is queued. */
  #shiftFrame(): Uint8Array | undefined {
    const frame = this.#queue.shift();
    if (frame !== undefined) {
      this.#queueBytes -= frame.length;
      this.#wakeReader?.();
    }
    return frame;
  }

  /** The next queued frame; null at end of stream; throws the read error after queued frames. */
  async #nextFrame(): Promise<Uint8Array | null> {
    for (;;) {
      const frame = this.#shiftFrame();
      if (frame !== undefined) return frame;
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
    if (this.#readTimer !== undefined) clearTimeout(this.#readTimer);
    this.#readTimer = undefined;
    this.#closedCtl.abort();
    this.#wakeReader?.();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
  }

  /** Read more bytes into the read buffer; false at end of stream. */
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
    // Between requests only connections.max.idle.ms applies.
    if (this.#end === this.#start && !(await this.#fill())) return null;
    this.#frameSize = -1;
    while (this.#end - this.#start < 4) {
      this.#partial = this.#end - this.#start;
      this.#frameWaiting();
      if (!(await this.#fill())) {
        if (this.#closed) return null;
        throw new CloseConnection(
          `ended mid-request: truncated size prefix (${this.#partial} of 4 bytes)`,
          "info",
        );
      }
    }
    const size = this.#checkPrefix();
    this.#start += 4;
    this.#frameSize = size;
    this.#partial = 0;
    const frame = size <= SMALL_FRAME_BYTES
      ? await this.#readSmall(size, who)
      : await this.#readLarge(size, who);
    this.#frameDone();
    return frame;
  }

  /**
   * The size in the prefix at the read position (at least 4 bytes buffered), checked against the
   * connection's bounds; the first frame's prefix is also checked for a TLS record.
   *
   * @throws {CloseConnection} If the size is refused.
   */
  #checkPrefix(): number {
    const b = this.#buf;
    const s = this.#start;
    if (this.#firstFrame) {
      this.#firstFrame = false;
      // A TLS record header (content type 0x14-0x17, version 3.x) read as a size would be
      // 335-402 MB: a ClientHello (0x16), or an alert (0x15) librdkafka sends first on a
      // connection it gives up on.
      const record = TLS_RECORD_TYPES.get(b[s]);
      if (this.#plaintext && record !== undefined && b[s + 1] === 0x03 && b[s + 2] <= 0x04) {
        throw new CloseConnection(
          `a TLS ${record} arrived on listener ${this.info.listenerName} (security protocol ` +
            `${this.info.securityProtocol}): the client uses SSL on a plaintext port`,
          "warn",
        );
      }
    }
    const size = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) | 0;
    if (size < 0) throw new CloseConnection(`invalid request size ${size}: negative`);
    if (size > this.#unauthenticatedMaxFrame && this.info.principal === undefined) {
      throw new CloseConnection(
        `request size ${size} is larger than sasl.server.max.receive.size ` +
          `(${this.#unauthenticatedMaxFrame}) before SASL authentication`,
        "info",
      );
    }
    if (size > this.#maxFrame) {
      throw new CloseConnection(
        `request size ${size} is larger than socket.request.max.bytes (${this.#maxFrame})`,
      );
    }
    if (size > this.#maxQueuedBytes) {
      throw new CloseConnection(
        `request size ${size} is larger than sluice.connection.max.queued.bytes ` +
          `(${this.#maxQueuedBytes}), the most request memory one connection may hold`,
      );
    }
    return size;
  }

  /**
   * A frame whose bytes are all in the read buffer already, up to {@linkcode SMALL_FRAME_BYTES},
   * when its memory is granted without waiting: taken (and reserved) at once, without the
   * promises of {@linkcode Connection.#readFrame} (issue #17: one small request per read is the
   * hot path of many producers). `undefined` when the frame must be read or waited for.
   *
   * @throws {CloseConnection} If the size is refused.
   */
  #takeBuffered(): Uint8Array | undefined {
    const buffered = this.#end - this.#start - 4;
    if (buffered < 0) return undefined;
    const size = this.#checkPrefix();
    if (
      size > buffered || size > SMALL_FRAME_BYTES ||
      this.#queuedBytes + size > this.#maxQueuedBytes || !this.#pool.tryReserve(size)
    ) return undefined;
    this.#queuedBytes += size;
    this.#start += 4;
    const frame = this.#copyOut(size);
    return frame;
  }

  /** A small frame: wait until it is whole in the read buffer, then reserve its size. */
  async #readSmall(size: number, who: string): Promise<Uint8Array | null> {
    while (this.#end - this.#start < size) {
      this.#partial = this.#end - this.#start;
      this.#frameWaiting();
      if (!(await this.#fill())) {
        if (this.#closed) return null;
        throw new CloseConnection(
          `${who} ended mid-request (${this.#partial} of ${size} bytes)`,
          "info",
        );
      }
    }
    // The client has sent it all; waiting for memory now is the broker's back-pressure.
    this.#frameDone();
    await this.#reserveWhole(size);
    if (this.#closed) return null; // what was reserved is released by serve()
    return this.#copyOut(size);
  }

  /**
   * Copy the small frame of `size` bytes at the read position out of the read buffer. Each
   * frame gets memory of its own: handlers may keep views of it (records) after returning. A
   * frame of an API the connection lends buffers to reuses a spare of this connection's
   * ({@linkcode SPARE_FRAME_BYTES}, given back by {@linkcode Connection.serve} once handled):
   * a fresh buffer costs more than its copy (issue #17).
   */
  #copyOut(size: number): Uint8Array {
    const from = this.#start;
    this.#start += size;
    const src = this.#buf.subarray(from, from + size);
    if (this.#lending !== undefined && size >= 2 && this.#lentApi(src)) {
      let buf: ArrayBuffer | undefined;
      const spares = this.#spares;
      for (let i = spares.length - 1; i >= 0; i--) {
        if (spares[i].byteLength >= size) {
          buf = spares[i];
          spares[i] = spares[spares.length - 1];
          spares.pop();
          break;
        }
      }
      buf ??= new ArrayBuffer(Math.max(MIN_SPARE_FRAME_BYTES, 2 ** Math.ceil(Math.log2(size))));
      const frame = new Uint8Array(buf, 0, size);
      frame.set(src);
      return frame;
    }
    return src.slice();
  }

  /** Whether the frame's API is one the connection lends buffers to. */
  #lentApi(frame: Uint8Array): boolean {
    return this.#lending!.apiKeys.has((frame[0] << 24 >> 16) | frame[1]);
  }

  /** Keep a handled small frame's buffer of a lent API for the next one. */
  #giveSmall(frame: Uint8Array): void {
    const buf = frame.buffer as ArrayBuffer;
    if (
      frame.length > SMALL_FRAME_BYTES || buf.byteLength > SPARE_FRAME_BYTES ||
      this.#spares.length >= MAX_SPARE_FRAMES || frame.length < 2 || !this.#lentApi(frame)
    ) return;
    this.#spares.push(buf);
  }

  /**
   * A large frame: its reservation starts at what has arrived and grows
   * {@linkcode FRAME_GROWTH} times as bytes keep arriving; reads go straight into its reserved,
   * unfilled part. Its buffer grows with the reservation, except for a frame of an API the
   * connection lends pooled buffers to ({@linkcode ConnectionLimits.frameBuffers}): that one is
   * read into an idle pooled buffer (or a new one of the pool's, once the reservation covers the
   * whole frame), which {@linkcode Connection.serve} gives back once the request is handled.
   */
  async #readLarge(size: number, who: string): Promise<Uint8Array | null> {
    const res = this.#pool.openFrame(size);
    const lending = this.#lending;
    const pooled = lending !== undefined && this.#end - this.#start >= 2 &&
      lending.apiKeys.has((this.#buf[this.#start] << 24 >> 16) | this.#buf[this.#start + 1]);
    let frame = new Uint8Array(0);
    /** Bytes reserved (all of them backed by `frame`). */
    let usable = 0;
    let filled = 0;
    let complete = false;
    try {
      while (filled < size) {
        const pending = this.#end - this.#start;
        // Grow once the frame's buffer is full: when bytes wait in the read buffer, or (after
        // the first bytes) before reading more, so that they go straight into the frame instead
        // of through the read buffer (issue #17: up to 192 KiB of each 1 MB frame were copied
        // twice). Either way the frame holds at most FRAME_GROWTH times what arrived.
        if (filled === usable && (pending > 0 || filled > 0)) {
          const target = Math.min(
            size,
            Math.max(usable * FRAME_GROWTH, filled + pending, MIN_FRAME_CHUNK),
          );
          if (!(await this.#grow(res, target - usable))) return null;
          if (frame.length < target) {
            // an idle pooled buffer at once; a new one of the pool's only for the whole frame
            const next = !pooled ? new Uint8Array(target) : lending.pool.take(size) ??
              (target === size ? lending.pool.allocate(size) : new Uint8Array(target));
            next.set(frame.subarray(0, filled));
            frame = next;
          }
          usable = target;
        }
        if (pending === 0) {
          this.#partial = filled;
          this.#frameWaiting();
          let more: boolean;
          if (filled < usable) {
            const n = await this.#conn.read(frame.subarray(filled, usable));
            more = n !== null;
            if (n !== null) {
              filled += n;
              this.#lastActivity = Date.now();
            }
          } else more = await this.#fill(); // the frame's first bytes: nothing reserved yet
          if (this.#closed) return null;
          if (!more) {
            throw new CloseConnection(
              `${who} ended mid-request (${filled} of ${size} bytes)`,
              "info",
            );
          }
          continue;
        }
        const take = Math.min(pending, usable - filled);
        frame.set(this.#buf.subarray(this.#start, this.#start + take), filled);
        this.#start += take;
        filled += take;
      }
      res.complete();
      complete = true;
      return frame; // frame.length === size: the reservation
    } finally {
      if (!complete) {
        // Cut off mid-frame: give back what it held.
        this.#queuedBytes -= res.held;
        res.abandon();
        if (pooled) lending.pool.give(frame);
      }
    }
  }

  /** Wait until this connection's bound grants `size` more bytes; false if it closed. */
  async #withinBound(size: number, inFrame: boolean): Promise<boolean> {
    while (this.#queuedBytes + size > this.#maxQueuedBytes && !this.#closed) {
      // Not `#waitingMemory`: only this connection's own progress (its response writes, which
      // count as activity) frees its bound, so a client that stops reading can still go idle.
      if (inFrame) this.#frameWaiting();
      await new Promise<void>((resolve) => (this.#wakeReader = resolve));
      this.#wakeReader = null;
    }
    return !this.#closed;
  }

  /**
   * Reserve a whole small frame from this connection's bound and the pool; the connection reads
   * nothing meanwhile (back-pressure).
   */
  async #reserveWhole(size: number): Promise<void> {
    if (!(await this.#withinBound(size, false))) return;
    if (!this.#pool.tryReserve(size)) {
      this.#waitingMemory = true;
      try {
        await this.#pool.reserve(size, this.#closedCtl.signal);
      } catch {
        return; // Closed while waiting: nothing was reserved.
      } finally {
        this.#waitingMemory = false;
      }
    }
    this.#queuedBytes += size;
  }

  /**
   * Grow a large frame's reservation by `bytes` (bytes that have arrived, or the doubling of its
   * buffer); the connection reads nothing meanwhile. False if it closed while waiting.
   */
  async #grow(res: FrameReservation, bytes: number): Promise<boolean> {
    if (!(await this.#withinBound(bytes, true))) return false;
    if (!res.tryGrow(bytes)) {
      this.#frameWaiting();
      this.#waitingMemory = true;
      try {
        await res.grow(bytes, this.#closedCtl.signal);
      } catch {
        return false; // Closed while waiting: nothing more was reserved.
      } finally {
        this.#waitingMemory = false;
      }
    }
    this.#queuedBytes += bytes;
    return true;
  }

  /**
   * Write a response, then release the request's `reserved` bytes and give its chunks lent by
   * the pool back (also if the write fails).
   */
  async #writeAll(chunks: Uint8Array[], reserved: number): Promise<void> {
    const lent = chunks;
    if (this.#coalesce && chunks.length > 1) {
      chunks = [concat(chunks)];
    }
    try {
      // indexed loops: no iterator per response (issue #17)
      for (let i = 0; i < chunks.length; i++) {
        const c = chunks[i];
        let off = await this.#conn.write(c);
        this.#lastActivity = Date.now();
        while (off < c.length) {
          off += await this.#conn.write(c.subarray(off));
          this.#lastActivity = Date.now();
        }
      }
    } catch (e) {
      this.#writeFailed = true;
      this.#writeError = e;
      throw e;
    } finally {
      this.#writing = false;
      if (this.#lending !== undefined) {
        for (let i = 0; i < lent.length; i++) this.#lending.pool.give(lent[i]);
      }
      this.#release(reserved);
    }
  }
}

/** A rejection handler that ignores the failure (one function, not one per response). */
function ignore(): void {}

function isDisconnect(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted ||
    e instanceof Deno.errors.NotConnected || e instanceof Deno.errors.ConnectionAborted;
}
