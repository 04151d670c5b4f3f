/**
 * File descriptors of segment `.log` files as a managed resource: one least-recently-used cache
 * per {@linkcode LogManager} bounds how many `.log` handles are open at once, across every
 * partition. A segment opens its handle on demand (the first read or write after it was closed)
 * and the cache closes the least recently used idle handles to make room. A handle with I/O in
 * flight or queued is never closed: the owner reports whether it is idle, and only idle handles
 * are evicted. When every handle is busy the cache goes over its bound rather than wait; the
 * excess is closed as soon as those handles are idle and another is opened.
 *
 * Using an open handle costs no system call: it only moves an entry of an intrusive linked list.
 *
 * @module
 */

/** Kafka-style broker key of the bound (documented in README.md). */
export const MAX_OPEN_FILES_CONFIG = "sluice.log.max.open.files";

/** Bound used when the process's open-file limit cannot be read. */
export const FALLBACK_MAX_OPEN_FILES = 1024;

/** Largest default bound (for an unlimited or huge open-file limit). */
export const MAX_DEFAULT_OPEN_FILES = 1 << 20;

/** Fewest handles the cache keeps, whatever the limit. */
export const MIN_MAX_OPEN_FILES = 16;

/**
 * One open handle known to the cache (owned by a segment). The cache calls
 * {@linkcode CachedHandle.tryClose}; the owner closes its handle if it is idle.
 */
export interface CachedHandle {
  /**
   * Closes the handle if no I/O uses it (or will: queued I/O counts as use).
   *
   * @returns Whether it is closed now.
   */
  tryClose(): boolean;
  /** Newer neighbour in the list (cache-private). */
  newer?: CachedHandle | undefined;
  /** Older neighbour in the list (cache-private). */
  older?: CachedHandle | undefined;
  /** Whether the entry is in the list (cache-private). */
  listed?: boolean;
}

/** Counters of a {@linkcode FileHandleCache}. */
export interface FileHandleCacheStats {
  /** The bound. */
  capacity: number;
  /** Handles open now. */
  open: number;
  /** Most handles open at once since the cache was made. */
  peak: number;
  /** Handles opened (first opens and reopens). */
  opens: number;
  /** Handles closed to make room. */
  evictions: number;
  /** Opens that had to wait for a handle in use to become idle. */
  waits: number;
}

/** Options of {@linkcode FileHandleCache}. */
export interface FileHandleCacheOptions {
  /** Diagnostic messages (the bound lowered after EMFILE, or raised by `grow`). */
  logger?: (msg: string) => void;
  /**
   * Called once, the first time the cache is full, with the handles it holds (open and being
   * opened): returns the bound to use from then on (kept if not higher). For a bound found at
   * start-up only in part ({@linkcode defaultOpenFilesBound}).
   */
  grow?: (held: number) => number;
}

/**
 * A least-recently-used bound on open segment handles. An owner about to open a handle awaits
 * {@linkcode FileHandleCache.acquire} (which closes idle handles, least recently used first, or
 * waits until one is idle), opens the file, then calls {@linkcode FileHandleCache.opened} (or
 * {@linkcode FileHandleCache.cancel} if the open failed). Each use calls
 * {@linkcode FileHandleCache.touch}; an owner whose I/O just finished calls
 * {@linkcode FileHandleCache.idle} while {@linkcode FileHandleCache.waiting}.
 *
 * @example
 * ```ts
 * import { FileHandleCache } from "./handle_cache.ts";
 *
 * const cache = new FileHandleCache(2);
 * const closed: string[] = [];
 * const handle = (name: string) => ({
 *   tryClose: () => {
 *     closed.push(name);
 *     return true;
 *   },
 * });
 * const a = handle("a"), b = handle("b"), c = handle("c");
 * for (const h of [a, b]) {
 *   await cache.acquire();
 *   cache.opened(h);
 * }
 * cache.touch(a); // b is now the least recently used
 * await cache.acquire(); // closes b to make room for c
 * cache.opened(c);
 * console.assert(closed.join() === "b" && cache.stats().open === 2);
 * ```
 */
export class FileHandleCache {
  #capacity: number;
  #newest: CachedHandle | undefined;
  #oldest: CachedHandle | undefined;
  #open = 0;
  #opening = 0;
  #waiters: (() => void)[] = [];
  #peak = 0;
  #opens = 0;
  #evictions = 0;
  #waits = 0;
  #logger: (msg: string) => void;
  #grow: ((held: number) => number) | undefined;

  /**
   * Creates a cache.
   *
   * @param capacity Most handles open at once (at least 1).
   * @param options Logger, growth of the bound.
   * @throws {RangeError} If `capacity` is not a positive integer.
   */
  constructor(capacity: number, options: FileHandleCacheOptions = {}) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `file handle cache: capacity must be a positive integer, got ${capacity}`,
      );
    }
    this.#capacity = capacity;
    this.#logger = options.logger ?? (() => {});
    this.#grow = options.grow;
  }

  /** The bound. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Whether an open waits for a handle to become idle. */
  get waiting(): boolean {
    return this.#waiters.length > 0;
  }

  /**
   * Reserves room for one more handle: closes idle handles, least recently used first, or waits
   * until a handle in use becomes idle. Follow with {@linkcode FileHandleCache.opened} or
   * {@linkcode FileHandleCache.cancel}.
   *
   * @returns Resolves when the room is reserved (at once when there is room).
   */
  acquire(): Promise<void> {
    if (this.#waiters.length === 0 && this.#take()) return Promise.resolve();
    this.#waits++;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Gives back a reservation whose open failed. */
  cancel(): void {
    this.#opening--;
    this.#wake();
  }

  /**
   * Registers a handle just opened with a reservation, as the most recently used.
   *
   * @param h The owner's entry.
   */
  opened(h: CachedHandle): void {
    this.#opening--;
    if (h.listed) return;
    this.#add(h);
  }

  /**
   * Registers a handle opened without a reservation (it may exceed the bound until evicted).
   *
   * @param h The owner's entry.
   */
  adopt(h: CachedHandle): void {
    if (!h.listed) this.#add(h);
  }

  /**
   * Marks a handle as just used (no system call).
   *
   * @param h The owner's entry.
   */
  touch(h: CachedHandle): void {
    if (h === this.#newest || !h.listed) return;
    this.#unlink(h);
    this.#pushNewest(h);
  }

  /**
   * Forgets a handle its owner closed.
   *
   * @param h The owner's entry.
   */
  closed(h: CachedHandle): void {
    if (!h.listed) return;
    this.#unlink(h);
    this.#open--;
    this.#wake();
  }

  /**
   * Tells the cache a handle's I/O has finished: if an open is waiting, the handle is closed and
   * its room handed over.
   *
   * @param h The owner's entry.
   */
  idle(h: CachedHandle): void {
    if (this.#waiters.length === 0 || !h.listed || !h.tryClose()) return;
    this.#unlink(h);
    this.#open--;
    this.#evictions++;
    this.#wake();
  }

  /**
   * Lowers the bound after the system refused to open a file (EMFILE): to three quarters of the
   * handles open now, at least {@linkcode MIN_MAX_OPEN_FILES}; idle handles above it are closed.
   *
   * @returns Whether the bound was lowered (else retrying cannot help).
   */
  shrinkAfterEmfile(): boolean {
    const next = Math.max(MIN_MAX_OPEN_FILES, Math.floor((this.#open + this.#opening) * 3 / 4));
    if (next >= this.#capacity) return false;
    this.#logger(
      `too many open files with ${this.#open} segment handles open: lowering ` +
        `${MAX_OPEN_FILES_CONFIG} from ${this.#capacity} to ${next}`,
    );
    this.#capacity = next;
    this.#evictTo(next - this.#opening);
    return true;
  }

  /**
   * The cache's counters.
   *
   * @returns Bound, open handles, peak, opens, evictions and waits.
   */
  stats(): FileHandleCacheStats {
    return {
      capacity: this.#capacity,
      open: this.#open,
      peak: this.#peak,
      opens: this.#opens,
      evictions: this.#evictions,
      waits: this.#waits,
    };
  }

  /** Reserves room if there is some or idle handles can make it. */
  #take(): boolean {
    if (this.#grow !== undefined && this.#open + this.#opening >= this.#capacity) {
      const grow = this.#grow;
      this.#grow = undefined;
      const next = grow(this.#open + this.#opening);
      if (next > this.#capacity) {
        this.#logger(
          `${this.#open} segment handles open: raising ${MAX_OPEN_FILES_CONFIG} from ` +
            `${this.#capacity} to ${next} (half the descriptors free)`,
        );
        this.#capacity = next;
      }
    }
    if (this.#open + this.#opening >= this.#capacity) {
      this.#evictTo(this.#capacity - 1 - this.#opening);
    }
    if (this.#open + this.#opening >= this.#capacity) return false;
    this.#opening++;
    return true;
  }

  #wake(): void {
    while (this.#waiters.length > 0 && this.#take()) this.#waiters.shift()!();
  }

  #add(h: CachedHandle): void {
    this.#pushNewest(h);
    this.#open++;
    this.#opens++;
    if (this.#open > this.#peak) this.#peak = this.#open;
  }

  #evictTo(n: number): void {
    let h = this.#oldest;
    while (this.#open > n && h !== undefined) {
      const next = h.newer;
      if (h.tryClose()) {
        this.#unlink(h);
        this.#open--;
        this.#evictions++;
      }
      h = next;
    }
  }

  #pushNewest(h: CachedHandle): void {
    h.older = this.#newest;
    h.newer = undefined;
    if (this.#newest) this.#newest.newer = h;
    this.#newest = h;
    this.#oldest ??= h;
    h.listed = true;
  }

  #unlink(h: CachedHandle): void {
    if (h.newer) h.newer.older = h.older;
    else this.#newest = h.older;
    if (h.older) h.older.newer = h.newer;
    else this.#oldest = h.newer;
    h.newer = undefined;
    h.older = undefined;
    h.listed = false;
  }
}

/**
 * Opens the start-up probe makes at most: {@linkcode FALLBACK_MAX_OPEN_FILES}, so that a limit up
 * to about 1,024 descriptors (e.g. `ulimit -n 1024`) is counted exactly at start-up, while the rest
 * of the count waits for the cache's first need of more than half of them (issue #17: 2,048 opens
 * took 20-40 ms of every start).
 */
export const START_PROBE_FILES = FALLBACK_MAX_OPEN_FILES;

/** A default bound on open segment handles: the bound at start and how it may grow later. */
export interface DefaultOpenFilesBound {
  /** The bound at start-up. */
  capacity: number;
  /**
   * Present when the start-up probe stopped before the system refused a descriptor: counts the
   * rest when the cache first holds `capacity` handles (see {@linkcode FileHandleCacheOptions}).
   */
  grow?: (held: number) => number;
}

/**
 * The default bound on open segment handles, as {@linkcode FileHandleCache} takes it: half the
 * process's open-file limit (the rest is left for client connections, index and checkpoint writes
 * and the runtime), read from `/proc/self/limits`. Deno raises its soft limit to the hard limit at
 * start-up, so this is half the hard limit. Reading `/proc/self/limits` needs `--allow-all`;
 * without it, half of the descriptors still free is used, up to {@linkcode FALLBACK_MAX_OPEN_FILES},
 * found by opening `/` (or `probePath` where `/` may not be read) read-only until the system
 * refuses (EMFILE), in two steps: at most {@linkcode START_PROBE_FILES} opens now; if they all
 * succeed the bound starts at half of them and `grow` counts the rest (up to twice
 * {@linkcode FALLBACK_MAX_OPEN_FILES} less the handles the cache holds) when the cache first
 * needs more. Without a `probePath`, {@linkcode FALLBACK_MAX_OPEN_FILES}.
 *
 * The second count runs while the broker serves: only with a limit between about 1,040 and 2,080
 * descriptors does it reach the limit, and then for the microseconds between the refused open and
 * the first close.
 *
 * @param probePath A file or directory the process may read (e.g. the data dir), for the probe.
 * @returns The bound at start, at least {@linkcode MIN_MAX_OPEN_FILES}, and its growth if any.
 *
 * @example
 * ```ts
 * import { defaultOpenFilesBound, FileHandleCache } from "./handle_cache.ts";
 * const { capacity, grow } = defaultOpenFilesBound(".");
 * const cache = new FileHandleCache(capacity, { grow });
 * console.assert(cache.capacity >= 16);
 * ```
 */
export function defaultOpenFilesBound(probePath?: string): DefaultOpenFilesBound {
  const limit = openFileLimit();
  if (limit !== undefined) {
    return {
      capacity: Math.max(
        MIN_MAX_OPEN_FILES,
        Math.min(Math.floor(limit / 2), MAX_DEFAULT_OPEN_FILES),
      ),
    };
  }
  if (probePath === undefined) return { capacity: FALLBACK_MAX_OPEN_FILES };
  const path = cheapestToOpen(probePath);
  const free = probeFreeFiles(path, START_PROBE_FILES);
  if (free !== undefined) return { capacity: Math.max(MIN_MAX_OPEN_FILES, Math.floor(free / 2)) };
  const capacity = Math.floor(START_PROBE_FILES / 2);
  const grow = (held: number): number => {
    const most = 2 * FALLBACK_MAX_OPEN_FILES - held;
    if (most <= 0) return FALLBACK_MAX_OPEN_FILES;
    const more = probeFreeFiles(path, most);
    // `undefined`: all `most` opened (or `path` cannot be opened now: keep the start's count)
    if (more === undefined) return FALLBACK_MAX_OPEN_FILES;
    return Math.max(capacity, Math.floor((more + held) / 2));
  };
  return { capacity, grow };
}

/**
 * The default bound on open segment handles counted in full now (both steps of
 * {@linkcode defaultOpenFilesBound} at once): half the process's open-file limit, or without
 * `--allow-all` half of the descriptors still free, up to {@linkcode FALLBACK_MAX_OPEN_FILES}.
 *
 * @param probePath A file or directory the process may read (e.g. the data dir), for the probe.
 * @returns The bound, at least {@linkcode MIN_MAX_OPEN_FILES}.
 *
 * @example
 * ```ts
 * import { defaultMaxOpenFiles } from "./handle_cache.ts";
 * console.assert(defaultMaxOpenFiles() >= 16);
 * ```
 */
export function defaultMaxOpenFiles(probePath?: string): number {
  const { capacity, grow } = defaultOpenFilesBound(probePath);
  return grow === undefined ? capacity : grow(0);
}

/**
 * `/` if the process may read it, else `path`. Deno resolves each component of a path at every
 * open (a `readlink` each), so the root is the cheapest thing to open up to 2,048 times: ~17 ms against
 * ~25 ms for a data dir in `/tmp` (issue #17; the probe is part of every start without
 * `--allow-all`).
 */
function cheapestToOpen(path: string): string {
  try {
    return Deno.permissions.querySync({ name: "read", path: "/" }).state === "granted" ? "/" : path;
  } catch {
    return path;
  }
}

/**
 * How many more descriptors the process can open: opens `path` read-only until EMFILE (at most
 * `max` times), then closes them all. Anything else opening a file in the moment between the
 * refused open and the first close fails with EMFILE too.
 *
 * @param path A file or directory the process may read.
 * @param max Most opens to try.
 * @returns The count, or `undefined` if `max` opens succeeded or `path` cannot be opened.
 *
 * @example
 * ```ts
 * import { probeFreeFiles } from "./handle_cache.ts";
 * const free = probeFreeFiles(".", 64); // undefined: at least 64 more can be opened
 * ```
 */
export function probeFreeFiles(path: string, max: number): number | undefined {
  const files: Deno.FsFile[] = [];
  try {
    while (files.length < max) files.push(Deno.openSync(path, { read: true }));
    return undefined;
  } catch (e) {
    return isTooManyOpenFiles(e) ? files.length : undefined;
  } finally {
    for (const f of files) f.close();
  }
}

/**
 * The process's soft open-file limit (RLIMIT_NOFILE), if it can be read.
 *
 * @returns The limit, `Infinity` for "unlimited", or `undefined` if unknown.
 *
 * @example
 * ```ts
 * import { openFileLimit } from "./handle_cache.ts";
 * const limit = openFileLimit(); // e.g. 1048576, or undefined without --allow-all
 * ```
 */
export function openFileLimit(): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/limits");
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  if (m[1] === "unlimited") return Infinity;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * Whether an error is the system's "too many open files" (EMFILE or ENFILE).
 *
 * @param e An error thrown by a Deno file API.
 * @returns Whether it is EMFILE/ENFILE.
 *
 * @example
 * ```ts
 * import { isTooManyOpenFiles } from "./handle_cache.ts";
 * console.assert(!isTooManyOpenFiles(new Error("x")));
 * ```
 */
export function isTooManyOpenFiles(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === "EMFILE" || code === "ENFILE";
}
