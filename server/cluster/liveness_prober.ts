// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Definitive evidence that a broker's process is gone: its listener **refuses** TCP connections.
 * When a process dies, the kernel closes its listening socket, and a connection attempt to the
 * port is answered at once with a reset (`ECONNREFUSED`). Nothing else looks like that from the
 * outside:
 *
 * - a process that is merely slow, or stopped (SIGSTOP), keeps its listening socket: the kernel
 *   completes the handshakes into its accept backlog, so connections succeed (and once the
 *   backlog is full, attempts time out: still no refusal);
 * - an unreachable host or a cut network gives a timeout or "no route", never a refusal.
 *
 * So a timeout, an unreachable host or a name that does not resolve is **not** evidence; only a
 * run of refusals is, and only on a listener seen accepting before (a broker that registered
 * but whose advertised address never answered here is left to its lease). The prober connects
 * to each target every interval (one attempt in flight per target, closed at once), counts
 * refusals in a row per registration (broker id and broker epoch) and reports a run of
 * `refusals` of them; the policy (who revokes whose lease) is {@linkcode FailureDetector}'s.
 *
 * @module
 */

/** What one connection attempt showed. */
export type ProbeOutcome = "accepted" | "refused" | "inconclusive";

/**
 * One TCP connection attempt to a listener, closed at once.
 *
 * @example
 * ```ts
 * import { probeListener } from "./liveness_prober.ts";
 *
 * const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * console.assert(await probeListener("127.0.0.1", l.addr.port, 1000) === "accepted");
 * l.close();
 * console.assert(await probeListener("127.0.0.1", l.addr.port, 1000) === "refused");
 * ```
 *
 * @param hostname Host name or address.
 * @param port Port.
 * @param timeoutMs An attempt that settles later than this is inconclusive, whatever it gives.
 * @returns `"refused"` for ECONNREFUSED within the time; `"accepted"` when the connection was
 *   made; `"inconclusive"` for anything else (timeout, unreachable, unresolvable).
 *
 * Needs `--allow-net` for the address.
 */
export async function probeListener(
  hostname: string,
  port: number,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const started = performance.now();
  let outcome: ProbeOutcome;
  try {
    const conn = await Deno.connect({ hostname, port });
    try {
      conn.close();
    } catch {
      // already closed
    }
    outcome = "accepted";
  } catch (e) {
    outcome = e instanceof Deno.errors.ConnectionRefused ? "refused" : "inconclusive";
  }
  if (outcome === "refused" && performance.now() - started > timeoutMs) return "inconclusive";
  return outcome;
}

/** A broker registration to probe. */
export interface ProbeTarget {
  /** Node id. */
  id: number;
  /** Broker epoch (the create revision of its registration). */
  epoch: number;
  /** Advertised host. */
  host: string;
  /** Advertised port. */
  port: number;
}

/** What the prober knows of one registration. */
export interface ProbeState {
  /** The registration's broker epoch. */
  epoch: number;
  /** Probes that settled. */
  probes: number;
  /** Whether its listener accepted a connection at least once. */
  armed: boolean;
  /** Refusals in a row since the last accepted or inconclusive probe. */
  refusals: number;
}

/** Options of {@linkcode LivenessProber}. */
export interface LivenessProberOptions {
  /** Time between two probes of a target, in milliseconds. */
  intervalMs: number;
  /** Refusals in a row (on an armed target) that are evidence. */
  refusals: number;
  /** The targets now (called every interval). */
  targets: () => ProbeTarget[];
  /**
   * Called on each refusal from the `refusals`-th in a row on (until the target accepts again
   * or goes), with the count.
   */
  onRefused: (target: ProbeTarget, consecutive: number) => void;
  /**
   * Called when a run of refusals that had reached `refusals` ends: the target accepted, or a
   * probe was inconclusive (the evidence is no longer current).
   */
  onCleared?: (target: ProbeTarget) => void;
  /**
   * An attempt that settles later than this is inconclusive, in milliseconds. Default: 1000, or
   * 4 intervals if longer.
   */
  timeoutMs?: number;
  /** The probe (tests). Default {@linkcode probeListener}. */
  probe?: (host: string, port: number, timeoutMs: number) => Promise<ProbeOutcome>;
}

interface Tracked extends ProbeState {
  inFlight: boolean;
}

/**
 * Probes listeners on a timer and reports runs of refusals (see the module doc).
 *
 * @example
 * ```ts
 * import { LivenessProber } from "./liveness_prober.ts";
 *
 * const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const target = { id: 2, epoch: 10, host: "127.0.0.1", port: l.addr.port };
 * let evidence = false;
 * const prober = new LivenessProber({
 *   intervalMs: 20,
 *   refusals: 3,
 *   targets: () => [target],
 *   onRefused: () => evidence = true,
 * });
 * prober.start();
 * while (!prober.state(2)?.armed) await new Promise((r) => setTimeout(r, 10));
 * l.close(); // the "process" is gone: its port refuses
 * while (!evidence) await new Promise((r) => setTimeout(r, 10));
 * prober.stop();
 * ```
 */
export class LivenessProber {
  readonly #options: LivenessProberOptions;
  readonly #timeoutMs: number;
  readonly #probe: (host: string, port: number, timeoutMs: number) => Promise<ProbeOutcome>;
  readonly #tracked = new Map<number, Tracked>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  /**
   * Create a prober (call `start`).
   *
   * @param options Interval, refusals, targets, callbacks.
   * @throws {RangeError} If the interval or the refusal count is not a positive integer.
   */
  constructor(options: LivenessProberOptions) {
    if (!Number.isInteger(options.intervalMs) || options.intervalMs < 1) {
      throw new RangeError(`Cannot create liveness prober: interval ${options.intervalMs} ms`);
    }
    if (!Number.isInteger(options.refusals) || options.refusals < 1) {
      throw new RangeError(`Cannot create liveness prober: ${options.refusals} refusals`);
    }
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? Math.max(1000, 4 * options.intervalMs);
    this.#probe = options.probe ?? probeListener;
  }

  /** Start probing. */
  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setInterval(() => this.#tick(), this.#options.intervalMs);
    Deno.unrefTimer(this.#timer);
    this.#tick();
  }

  /** Stop probing (attempts in flight settle unseen). */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#tracked.clear();
  }

  /**
   * What the prober knows of node `id`'s current registration.
   *
   * @param id Node id.
   * @returns Its state, or `undefined` if it is not a target.
   */
  state(id: number): ProbeState | undefined {
    const t = this.#tracked.get(id);
    return t && { epoch: t.epoch, probes: t.probes, armed: t.armed, refusals: t.refusals };
  }

  #tick(): void {
    if (this.#stopped) return;
    const targets = this.#options.targets();
    const ids = new Set(targets.map((t) => t.id));
    for (const id of this.#tracked.keys()) if (!ids.has(id)) this.#tracked.delete(id);
    for (const target of targets) {
      let t = this.#tracked.get(target.id);
      if (t === undefined || t.epoch !== target.epoch) {
        t = { epoch: target.epoch, probes: 0, armed: false, refusals: 0, inFlight: false };
        this.#tracked.set(target.id, t);
      }
      if (t.inFlight) continue;
      t.inFlight = true;
      const tracked = t;
      this.#probe(target.host, target.port, this.#timeoutMs).then(
        (outcome) => this.#settled(target, tracked, outcome),
        () => this.#settled(target, tracked, "inconclusive"),
      );
    }
  }

  #settled(target: ProbeTarget, t: Tracked, outcome: ProbeOutcome): void {
    t.inFlight = false;
    // a registration no longer probed (gone, replaced, or the prober stopped): forget it
    if (this.#stopped || this.#tracked.get(target.id) !== t) return;
    t.probes++;
    const threshold = this.#options.refusals;
    if (outcome === "refused") {
      if (!t.armed) return;
      t.refusals++;
      if (t.refusals >= threshold) this.#options.onRefused(target, t.refusals);
      return;
    }
    if (outcome === "accepted") t.armed = true;
    const hadEvidence = t.refusals >= threshold;
    t.refusals = 0;
    if (hadEvidence) this.#options.onCleared?.(target);
  }
}
