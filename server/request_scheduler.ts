// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Serves requests from many connections in bounded slices (issue #17), so that no connection can
 * hold the others.
 *
 * Without it every request was handled as soon as its connection read it, and which reads the
 * event loop delivers first is not the order they arrived in (likely because a read that finds
 * its bytes already there completes in the same task, while reads waiting on the reactor are
 * delivered only when the busy event loop next polls it). With 500 producer connections, one
 * request in flight each, some connections were answered 3.5 times as often as others in the
 * same run, and p99 was 16.7 times the p99 of librdkafka's mock broker (docs/PERFORMANCE.md).
 * Yielding with `setImmediate` or a `MessageChannel` between requests did not change that; only
 * waiting for a timer, during which the event loop polls every socket, did.
 *
 * How many requests a slice starts matters as much. Deno delivers a bounded number of completed
 * socket reads per turn of its event loop (an strace of a bare Deno frame server showed exactly
 * 128 reads between two `epoll_wait`s while 500 sockets were ready), and not in the order the
 * bytes arrived (the same sockets came first in successive turns). With slices that start many
 * requests (long turns, after which the next slice's timer is already due), some of 500
 * connections waited seconds before their request was even read (traced in the broker: from the
 * client's send to the read p99 0.9 s, from the read to the response written p99 0.09 s).
 * With 500 producer connections, slices of 16-48 requests answered every connection 93-106 times
 * per 50,000 requests, slices of 64 or 256 between 47 and 167 times, and p99 was 3-6 times the
 * mean latency instead of 8-13 (docs/PERFORMANCE.md, issue #17). Hence
 * {@linkcode SLICE_REQUESTS}.
 *
 * So every connection calls {@linkcode RequestScheduler.admit} before it handles a request.
 * Slices end when a `setTimeout(0)` fires, or, when a slice leaves requests waiting and the
 * broker gave the scheduler a {@linkcode LoopTurn}, when the event loop has polled its sockets
 * once more (a loopback connection's read, {@linkcode loopbackTurn}); the first opens with a
 * request while the scheduler is idle. A timer turn lasts at least 1-2 ms (Deno's timers count
 * whole milliseconds): once a slice of 32 cost less than that, the broker's main thread slept
 * 17-47% of the time with hundreds of requests queued (500 producer connections, 2026-12-06).
 * A loop turn is as fair (the reads the poll completes join the queue before the next slice
 * starts) without the idle millisecond. A slice admits `immediateRequests` requests at once (a few clients never wait; a lone
 * client, whose requests are all the slice admitted, up to `loneRequests`); later ones wait,
 * first come first served. When a slice ends, the next one starts by admitting up to
 * `sliceRequests` waiting requests in the order they asked, which count against what it admits
 * at once; a slice that finds nobody waiting leaves the scheduler idle. A connection handles one
 * request at a time (Kafka's order: responses in request order), so once a slice is full it gets
 * at most one request into each following slice, and a request that waits is admitted within
 * `ceil((waiting ahead of it + 1) / sliceRequests)` slices whatever the other connections send.
 *
 * @module
 */

/**
 * Default most waiting requests admitted when a slice starts: below what Deno reads per event
 * loop turn (see the module doc; 64 and more were measured unfair, 16-48 fair).
 */
export const SLICE_REQUESTS = 32;

/** Default requests a slice admits at once before later ones wait for the next slice. */
export const IMMEDIATE_REQUESTS = 16;

/**
 * Default requests a slice admits at once while they all come from one connection (a lone fast
 * client, e.g. a producer with requests pipelined, waits for no timer).
 */
export const LONE_REQUESTS = 128;

/** Options of a {@linkcode RequestScheduler}. */
export interface RequestSchedulerOptions {
  /** Most waiting requests admitted when a slice starts. Default {@linkcode SLICE_REQUESTS}. */
  sliceRequests?: number;
  /**
   * Requests a slice admits at once (counting those it started with) before later ones wait for
   * the next slice. Default {@linkcode IMMEDIATE_REQUESTS}.
   */
  immediateRequests?: number;
  /**
   * Requests a slice admits at once while every request it admitted came from the same
   * connection and nobody waits. Default {@linkcode LONE_REQUESTS}; at least
   * `immediateRequests`.
   */
  loneRequests?: number;
  /**
   * Opens the {@linkcode LoopTurn} that ends a slice while requests are still waiting, once the
   * first slice ends so; until it is open (or if it fails), and whenever nobody waits, slices end
   * with a `setTimeout(0)`. Default: none (every slice ends with a timer).
   */
  openTurn?: () => Promise<LoopTurn>;
}

/**
 * One turn of the event loop that includes a poll of every socket, faster than a timer (issue
 * #17): {@linkcode LoopTurn.next} calls back once the event loop has been through its I/O
 * poll. {@linkcode loopbackTurn} is the broker's.
 */
export interface LoopTurn {
  /** Call `then` after the next I/O poll of the event loop (one call outstanding at a time). */
  next(then: () => void): void;
  /** Release it; a pending `next` never calls back. */
  close(): void;
}

/**
 * A {@linkcode LoopTurn} made of a loopback TCP connection of the broker's own: a turn writes one
 * byte and ends when the read of it completes, which the event loop delivers only after polling
 * its sockets, as it delivers the clients' reads. A `setTimeout(0)` turn lasts at least 1-2 ms
 * (Deno's timers count whole milliseconds), which with 500 producer connections left the loop
 * idle for a third of the time while requests waited; a loopback turn costs a `send`, a `recv`
 * and a ready event.
 *
 * @example
 * ```ts
 * import { loopbackTurn } from "./request_scheduler.ts";
 * const turn = await loopbackTurn();
 * await new Promise<void>((resolve) => turn.next(resolve));
 * turn.close();
 * ```
 *
 * @returns The turn, open.
 * @throws {Deno.errors.PermissionDenied} Without network permission for 127.0.0.1.
 */
export async function loopbackTurn(): Promise<LoopTurn> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let w: Deno.TcpConn | undefined;
  let r: Deno.TcpConn;
  try {
    const accepted = listener.accept();
    w = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    r = await accepted;
  } catch (e) {
    w?.close();
    throw e;
  } finally {
    listener.close();
  }
  w.setNoDelay(true);
  const one = new Uint8Array(1);
  const buf = new Uint8Array(64);
  let closed = false;
  return {
    next(then: () => void): void {
      w.write(one).catch(() => {});
      r.read(buf).then((n) => {
        if (!closed && n !== null) then();
      }, () => {});
    },
    close(): void {
      if (closed) return;
      closed = true;
      w.close();
      r.close();
    },
  };
}

/** Counters of a {@linkcode RequestScheduler}, for tests and `/metrics`. */
export interface SchedulerStats {
  /** Slices that admitted waiting requests. */
  slices: number;
  /** Requests admitted at once. */
  immediate: number;
  /** Requests that waited for a later slice. */
  deferred: number;
}

/** The broker-wide admission of requests in slices; see the module doc. */
export class RequestScheduler {
  readonly #sliceRequests: number;
  readonly #immediateRequests: number;
  readonly #loneRequests: number;
  /** The one connection the current slice admitted requests of; -1 for several; 0 for none. */
  #owner = 0;
  readonly #waiting: Array<() => void> = [];
  /** The connection of each entry of `#waiting`, at the same index. */
  readonly #waitingConnections: number[] = [];
  /** Index of the first waiter not yet admitted (the queue is compacted as slices run). */
  #head = 0;
  /** Requests admitted in the current slice. */
  #admitted = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #openTurn: (() => Promise<LoopTurn>) | undefined;
  /** The loop turn, once open; `null` while opening or after it failed or closed. */
  #turn: LoopTurn | null | undefined;
  /** Whether a loop turn is outstanding (the next slice starts when it ends). */
  #turning = false;
  #closed = false;
  readonly #stats: SchedulerStats = { slices: 0, immediate: 0, deferred: 0 };

  /**
   * Create a scheduler.
   *
   * @param options Slice sizes.
   * @throws {RangeError} If a size is not a positive integer.
   */
  constructor(options: RequestSchedulerOptions = {}) {
    const positive = (what: string, n: number) => {
      if (!Number.isInteger(n) || n < 1) {
        throw new RangeError(`${what} ${n} is invalid: expected an integer >= 1`);
      }
      return n;
    };
    this.#sliceRequests = positive("sliceRequests", options.sliceRequests ?? SLICE_REQUESTS);
    this.#immediateRequests = positive(
      "immediateRequests",
      options.immediateRequests ?? IMMEDIATE_REQUESTS,
    );
    this.#loneRequests = Math.max(
      this.#immediateRequests,
      positive("loneRequests", options.loneRequests ?? LONE_REQUESTS),
    );
    this.#openTurn = options.openTurn;
  }

  /** Requests waiting for a slice now. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /** Counters since creation. */
  get stats(): Readonly<SchedulerStats> {
    return this.#stats;
  }

  /**
   * Ask to start handling a request.
   *
   * @example
   * ```ts
   * import { RequestScheduler } from "./request_scheduler.ts";
   * const s = new RequestScheduler({ immediateRequests: 1 });
   * console.log(s.admit() === undefined); // true: the slice's first request starts at once
   * const later = s.admit(); // a promise: the next slice
   * await later;
   * s.close();
   * ```
   *
   * @param connection The asking connection's id (> 0); default: a connection of its own.
   * @returns `undefined` when the request may start now, else a promise resolved at its turn.
   */
  admit(connection = -1): Promise<void> | undefined {
    const owner = this.#owner === 0 || this.#owner === connection ? connection : -1;
    const limit = owner > 0 ? this.#loneRequests : this.#immediateRequests;
    if (this.waiting === 0 && this.#admitted < limit) {
      this.#owner = owner;
      this.#admitted++;
      this.#stats.immediate++;
      this.#schedule();
      return undefined;
    }
    this.#stats.deferred++;
    this.#schedule();
    this.#waitingConnections.push(connection);
    return new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /** Admit everything waiting and stop the timer (broker shutdown). */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#closed = true;
    this.#turn?.close();
    this.#turn = null;
    this.#turning = false;
    const all = this.#waiting.splice(0);
    this.#waitingConnections.length = 0;
    const from = this.#head;
    this.#head = 0;
    this.#admitted = 0;
    this.#owner = 0;
    for (const go of all.slice(from)) go();
  }

  #schedule(): void {
    if (!this.#turning) this.#timer ??= setTimeout(this.#slice, 0);
  }

  /**
   * End the slice with a loop turn rather than a timer (requests are waiting): false while the
   * turn is not open.
   */
  #scheduleTurn(): boolean {
    if (this.#turn === undefined && this.#openTurn !== undefined) {
      this.#turn = null;
      this.#openTurn().then((turn) => {
        if (this.#closed) turn.close();
        else this.#turn = turn;
      }, () => {}); // slices keep ending with timers
    }
    if (!this.#turn) return false;
    this.#turning = true;
    this.#turn.next(this.#turned);
    return true;
  }

  readonly #turned = (): void => {
    this.#turning = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#slice();
  };

  readonly #slice = (): void => {
    this.#timer = undefined;
    const n = Math.min(this.waiting, this.#sliceRequests);
    // what a slice admits when it starts counts against what it admits at once
    this.#admitted = n;
    this.#owner = 0;
    if (n === 0) return; // idle: the next request opens a slice
    this.#stats.slices++;
    const from = this.#head;
    this.#head += n;
    // a slice that admits the waiting requests of one connection only is that connection's (a
    // lone busy client keeps `loneRequests` per slice once it has waited)
    const first = this.#waitingConnections[from];
    this.#owner = first;
    for (let i = from + 1; i < this.#head; i++) {
      if (this.#waitingConnections[i] !== first) {
        this.#owner = -1;
        break;
      }
    }
    const go = this.#waiting.slice(from, this.#head);
    if (this.#head >= 1024 && this.#head * 2 >= this.#waiting.length) {
      this.#waiting.splice(0, this.#head);
      this.#waitingConnections.splice(0, this.#head);
      this.#head = 0;
    }
    // more waiting than a slice admits: the next slice starts as soon as the event loop has
    // polled the sockets once more (fair as a timer turn, without the timer's idle millisecond)
    if (this.waiting === 0 || !this.#scheduleTurn()) this.#schedule();
    for (const resolve of go) resolve();
  };
}
