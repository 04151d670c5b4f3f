// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * KIP-848 consumers for tests: one confluent-kafka consumer process each
 * (`clients/kip848_consumer.py`, `group.protocol=consumer`), what it printed, and the check that
 * no partition was ever owned by two of them at once, and the group as the broker describes it.
 * Used by `kip848_test.ts`, `kip848_regex_test.ts` and `../cluster/kip848_test.ts`.
 *
 * @module
 */

import { ok as assert } from "node:assert/strict";
import { PYTHON, waitFor as waitForEvery } from "../harness.ts";
import type { Client } from "../../mod.ts";
import {
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse,
  type ConsumerGroupDescribeResponseDescribedGroup,
} from "../../protocol/messages/consumer_group_describe.ts";

const SCRIPT = new URL("./clients/kip848_consumer.py", import.meta.url).pathname;

/** One line printed by the consumer script. */
export interface Event {
  ev: string;
  topic?: string;
  tps?: [string, number][];
  t?: number;
  p?: number;
  o?: number;
  v?: string;
  error?: string;
}

/** One consumer process and what it printed so far. */
export class Member {
  readonly name: string;
  readonly events: Event[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reading: Promise<void>;
  stderr = "";
  killedAt: number | null = null;
  /** When it was paused (SIGSTOP), or `null`. */
  stoppedAt: number | null = null;

  /**
   * Starts the consumer process.
   *
   * @param name Its client id, and its name in messages.
   * @param config `bootstrap`, `group`, `topic` and optionally `assignor`.
   * @param env Extra environment (LD_LIBRARY_PATH of librdkafka 2.15.1).
   */
  constructor(name: string, config: Record<string, unknown>, env: Record<string, string> = {}) {
    this.name = name;
    const child = new Deno.Command(PYTHON, {
      args: [SCRIPT],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#write(JSON.stringify({ ...config, clientId: name }) + "\n");
    this.#reading = (async () => {
      let rest = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        let i;
        while ((i = rest.indexOf("\n")) !== -1) {
          const line = rest.slice(0, i);
          rest = rest.slice(i + 1);
          if (line.trim() !== "") this.events.push(JSON.parse(line));
        }
      }
    })();
    (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr += chunk;
      }
    })();
  }

  #write(text: string): void {
    this.#stdin.write(new TextEncoder().encode(text)).catch(() => {});
  }

  /** The partitions it owns now, from its assign/revoke/lost events. */
  owned(): Set<number> {
    const owned = new Set<number>();
    for (const e of this.events) {
      if (e.ev === "assign") { for (const [, p] of e.tps!) owned.add(p); }
      if (e.ev === "revoke" || e.ev === "lost") { for (const [, p] of e.tps!) owned.delete(p); }
    }
    return owned;
  }

  records(): string[] {
    return this.events.filter((e) => e.ev === "rec").map((e) => e.v!);
  }

  /** Leaves the group (consumer.close()) and waits for the process to end. */
  async close(): Promise<void> {
    this.#write("close\n");
    await this.#stdin.close().catch(() => {});
    await this.#child.status;
    await this.#reading;
  }

  /**
   * SIGSTOP or SIGCONT: a paused member stops heartbeating (the broker fences it after the
   * session timeout) and, continued, finds out at its next heartbeat.
   *
   * @param signal The signal.
   */
  signal(signal: "SIGSTOP" | "SIGCONT"): void {
    if (signal === "SIGSTOP") this.stoppedAt = Date.now() / 1000;
    this.#child.kill(signal);
  }

  /** SIGKILL: no leave, no revocation; the broker finds out by the session timeout. */
  async kill(): Promise<void> {
    this.killedAt = Date.now() / 1000;
    this.#child.kill("SIGKILL");
    await this.#child.status;
    await this.#stdin.close().catch(() => {});
    await this.#reading.catch(() => {});
  }
}

export async function waitFor(
  what: string | (() => string),
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  await waitForEvery(what, check, { timeoutMs, intervalMs: 100 });
}

/**
 * No partition owned by two members at once: each member's ownership intervals (assign ->
 * revoke/lost, or its kill or pause, or now) of a partition never overlap another member's.
 */
export function assertNoDoubleOwnership(members: Member[]): void {
  const intervals: { member: string; p: number; from: number; to: number }[] = [];
  for (const m of members) {
    const open = new Map<number, number>();
    for (const e of m.events) {
      if (e.ev === "assign") { for (const [, p] of e.tps!) open.set(p, e.t!); }
      if (e.ev === "revoke" || e.ev === "lost") {
        for (const [, p] of e.tps!) {
          const from = open.get(p)!;
          // paused, it could do nothing with its partitions: they were lost when it stopped
          const stopped = m.stoppedAt !== null && e.ev === "lost" && from < m.stoppedAt;
          intervals.push({ member: m.name, p, from, to: stopped ? m.stoppedAt! : e.t! });
          open.delete(p);
        }
      }
    }
    for (const [p, from] of open) {
      intervals.push({ member: m.name, p, from, to: m.killedAt ?? Infinity });
    }
  }
  for (const a of intervals) {
    for (const b of intervals) {
      if (a.member >= b.member || a.p !== b.p) continue;
      assert(
        a.to <= b.from || b.to <= a.from,
        `partition ${a.p} owned by ${a.member} [${a.from}, ${a.to}] and ${b.member} ` +
          `[${b.from}, ${b.to}]`,
      );
    }
  }
}

/**
 * The group as the broker describes it (ConsumerGroupDescribe, to any broker).
 *
 * @param client The client.
 * @param group The group id.
 * @returns The described group (its errorCode says whether there is one).
 */
export async function describeGroup(
  client: Client,
  group: string,
): Promise<ConsumerGroupDescribeResponseDescribedGroup> {
  const r = await client.send(
    "any",
    { request: ConsumerGroupDescribeRequest, response: ConsumerGroupDescribeResponse },
    ConsumerGroupDescribeRequest.create({ groupIds: [group] }),
  );
  return r.groups[0];
}
