// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Admin and data requests with extreme counts, one at a time against a broker process: N topic
 * names in a Metadata, N partitions in a ListOffsets, N groups in a DeleteGroups, and so on. For
 * each: how long the broker takes to answer (or whether it closes the connection), the slowest
 * control round trip while it works (our client, polling every 200 ms), memory and open files
 * after, and whether the broker is still alive. With `creates`, also CreateTopics and
 * CreatePartitions asking for N partitions, each on a fresh broker, because at large N these
 * exhaust file descriptors (a known issue): the run reports what happens and moves on.
 *
 * `deno task fuzz --extreme 100000 [--extreme-creates]`.
 *
 * @module
 */

import { decodeResponseHeader, encodeRequestFrame } from "../../protocol/framing.ts";
import { apiByKey, type ApiInfo } from "../../protocol/apis.ts";
import { buildBatch } from "../../wasm/testing.ts";
import { type FuzzBroker, startFuzzBroker } from "./broker_process.ts";
import { createControlTopic, probe } from "./probe.ts";
import { CONTROL_TOPIC } from "./runner.ts";
import { Deadline, deadlineAfter, RawConnection, sleep } from "./wire.ts";
import { Admin, Client } from "../../client/mod.ts";

/** One extreme request. */
interface Scenario {
  /** What it asks for. */
  name: string;
  /** API key. */
  key: number;
  /** Version. */
  version: number;
  /** The request body for count `n`. */
  body: (n: number) => unknown;
  /** Needs a fresh broker (it may break the broker). */
  fresh?: boolean;
}

/** The result of one scenario. */
export interface ExtremeResult {
  /** Scenario name. */
  name: string;
  /** The count. */
  n: number;
  /** Request size, bytes. */
  requestBytes: number;
  /** `answered`, `closed` or `no answer`. */
  outcome: string;
  /** Milliseconds to the answer (or to giving up). */
  ms: number;
  /** Response size, bytes. */
  responseBytes: number;
  /** The slowest control round trip meanwhile (ms), and how many failed. */
  controlMaxMs: number;
  /** Control round trips that failed meanwhile. */
  controlFailed: number;
  /** Resident memory after, MiB. */
  rssMb: number;
  /** Open files after. */
  openFiles: number;
  /** Broker still alive. */
  alive: boolean;
  /** New ERROR lines (classes), if any. */
  errors: string[];
}

const TOPIC = "extreme";
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function scenarios(creates: boolean): Scenario[] {
  const batch = buildBatch({ records: [{ key: null, value: "x" }] });
  const list: Scenario[] = [
    {
      name: "Metadata: N topic names (no auto-creation)",
      key: 3,
      version: 12,
      body: (n) => ({
        topics: range(n).map((i) => ({ name: `missing-${i}`, topicId: "AAAAAAAAAAAAAAAAAAAAAA" })),
        allowAutoTopicCreation: false,
      }),
    },
    {
      name: "ListOffsets: N partitions",
      key: 2,
      version: 8,
      body: (n) => ({
        replicaId: -1,
        topics: [{
          name: TOPIC,
          partitions: range(n).map((p) => ({
            partitionIndex: p,
            currentLeaderEpoch: -1,
            timestamp: -1,
            maxNumOffsets: 1,
          })),
        }],
      }),
    },
    {
      name: "Fetch: N partitions",
      key: 1,
      version: 12,
      body: (n) => ({
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 50 << 20,
        sessionEpoch: -1,
        topics: [{
          topic: TOPIC,
          partitions: range(n).map((p) => ({
            partition: p,
            currentLeaderEpoch: -1,
            fetchOffset: 0,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: 1 << 20,
          })),
        }],
      }),
    },
    {
      name: "Produce: N partitions, one small batch each",
      key: 0,
      version: 9,
      body: (n) => ({
        acks: -1,
        timeoutMs: 30_000,
        topicData: [{
          name: TOPIC,
          partitionData: range(n).map((p) => ({ index: p, records: batch })),
        }],
      }),
    },
    {
      name: "OffsetCommit: N partitions",
      key: 8,
      version: 8,
      body: (n) => ({
        groupId: "extreme-g",
        generationIdOrMemberEpoch: -1,
        memberId: "",
        topics: [{
          name: TOPIC,
          partitions: range(n).map((p) => ({
            partitionIndex: p,
            committedOffset: 1,
            committedLeaderEpoch: -1,
            commitTimestamp: -1,
            committedMetadata: "",
          })),
        }],
      }),
    },
    {
      name: "OffsetFetch: N partitions",
      key: 9,
      version: 7,
      body: (n) => ({
        groupId: "extreme-g",
        topics: [{ name: TOPIC, partitionIndexes: range(n) }],
      }),
    },
    {
      name: "DescribeConfigs: N topics",
      key: 32,
      version: 4,
      body: (n) => ({
        resources: range(n).map((i) => ({
          resourceType: 2,
          resourceName: i === 0 ? TOPIC : `missing-${i}`,
          configurationKeys: null,
        })),
      }),
    },
    {
      name: "IncrementalAlterConfigs: N topics",
      key: 44,
      version: 1,
      body: (n) => ({
        resources: range(n).map((i) => ({
          resourceType: 2,
          resourceName: `missing-${i}`,
          configs: [{ name: "retention.ms", configOperation: 0, value: "1000" }],
        })),
      }),
    },
    {
      name: "CreateTopics validate_only: N topics",
      key: 19,
      version: 7,
      body: (n) => ({
        topics: range(n).map((i) => ({
          name: `new-${i}`,
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [],
        })),
        timeoutMs: 30_000,
        validateOnly: true,
      }),
    },
    {
      name: "DeleteTopics: N missing topics",
      key: 20,
      version: 6,
      body: (n) => ({
        topics: range(n).map((i) => ({ name: `missing-${i}`, topicId: "AAAAAAAAAAAAAAAAAAAAAA" })),
        timeoutMs: 30_000,
      }),
    },
    {
      name: "DeleteRecords: N partitions",
      key: 21,
      version: 2,
      body: (n) => ({
        topics: [{
          name: TOPIC,
          partitions: range(n).map((p) => ({ partitionIndex: p, offset: 0 })),
        }],
        timeoutMs: 30_000,
      }),
    },
    {
      name: "DescribeGroups: N groups",
      key: 15,
      version: 5,
      body: (n) => ({ groups: range(n).map((i) => `g-${i}`) }),
    },
    {
      name: "DeleteGroups: N groups",
      key: 42,
      version: 2,
      body: (n) => ({ groupsNames: range(n).map((i) => `g-${i}`) }),
    },
    {
      name: "DescribeProducers: N partitions",
      key: 61,
      version: 0,
      body: (n) => ({ topics: [{ name: TOPIC, partitionIndexes: range(n) }] }),
    },
  ];
  if (creates) {
    list.push(
      {
        name: "CreateTopics: one topic of N partitions",
        key: 19,
        version: 7,
        fresh: true,
        body: (n) => ({
          topics: [{
            name: "wide",
            numPartitions: n,
            replicationFactor: 1,
            assignments: [],
            configs: [],
          }],
          timeoutMs: 60_000,
        }),
      },
      {
        name: "CreatePartitions: one topic to N partitions",
        key: 37,
        version: 3,
        fresh: true,
        body: (n) => ({
          topics: [{ name: TOPIC, count: n, assignments: null }],
          timeoutMs: 60_000,
        }),
      },
      {
        name: "CreateTopics: N topics of one partition",
        key: 19,
        version: 7,
        fresh: true,
        body: (n) => ({
          topics: range(n).map((i) => ({
            name: `many-${i}`,
            numPartitions: 1,
            replicationFactor: 1,
            assignments: [],
            configs: [],
          })),
          timeoutMs: 60_000,
        }),
      },
    );
  }
  return list;
}

/** Options for {@linkcode runExtreme}. */
export interface ExtremeOptions {
  /** The count. */
  n: number;
  /** Also CreateTopics/CreatePartitions with N partitions (each on a fresh broker). */
  creates?: boolean;
  /** Only scenarios whose name contains this. */
  only?: string;
  /** Give up on one request after this long, ms. Default 120000. */
  timeoutMs?: number;
  /** Progress output. */
  log?: (line: string) => void;
}

async function prepare(b: FuzzBroker): Promise<void> {
  await createControlTopic(b.bootstrap, CONTROL_TOPIC, 30_000);
  const client = new Client({ bootstrapServers: b.bootstrap });
  try {
    await new Admin(client).createTopics([{ name: TOPIC, numPartitions: 1 }]);
  } finally {
    await client.close();
  }
}

/**
 * Sends each extreme request and measures the broker's answer.
 *
 * @param options Count, creates, timeout.
 * @returns One result per scenario.
 */
export async function runExtreme(options: ExtremeOptions): Promise<ExtremeResult[]> {
  const log = options.log ?? ((l: string) => console.log(l));
  const timeoutMs = options.timeoutMs ?? 120_000;
  const out: ExtremeResult[] = [];
  let shared: FuzzBroker | undefined;
  try {
    const list = scenarios(options.creates ?? false).filter((s) =>
      options.only === undefined || s.name.includes(options.only)
    );
    for (const s of list) {
      let b: FuzzBroker;
      if (s.fresh || shared === undefined || shared.exitStatus() !== undefined) {
        b = await startFuzzBroker();
        await prepare(b);
        if (!s.fresh) shared = b;
      } else b = shared;
      const api = apiByKey(s.key) as ApiInfo;
      const frame = encodeRequestFrame(
        api.request,
        s.version,
        7,
        "extreme",
        api.request.create(s.body(options.n) as never),
      );
      const before = new Set(b.unexpected.map((u) => u.line));
      const conn = await RawConnection.open(b.port);
      const t0 = performance.now();
      let done = false;
      const control: number[] = [];
      let controlFailed = 0;
      const controls = (async () => {
        while (!done) {
          const r = await probe(b.bootstrap, CONTROL_TOPIC, 30_000);
          if (r.ok) control.push(r.ms);
          else controlFailed++;
          await sleep(200);
        }
      })();
      let outcome = "no answer";
      let responseBytes = 0;
      const deadline = deadlineAfter(timeoutMs);
      try {
        await conn.write(frame);
        const resp = await conn.readFrame(deadline.promise);
        if (resp === null) outcome = "closed";
        else {
          outcome = "answered";
          responseBytes = resp.length;
          decodeResponseHeader(resp, s.key, s.version);
        }
      } catch (e) {
        if (!(e instanceof Deadline)) outcome = `failed: ${e instanceof Error ? e.message : e}`;
      } finally {
        deadline.cancel();
      }
      const ms = performance.now() - t0;
      done = true;
      conn.close();
      await controls;
      await sleep(300);
      const alive = b.exitStatus() === undefined;
      const st = alive ? await b.status().catch(() => undefined) : undefined;
      const r: ExtremeResult = {
        name: s.name,
        n: options.n,
        requestBytes: frame.length,
        outcome,
        ms: Math.round(ms),
        responseBytes,
        controlMaxMs: Math.round(Math.max(0, ...control)),
        controlFailed,
        rssMb: Math.round((st?.rssBytes ?? 0) / 2 ** 20),
        openFiles: st?.openFiles ?? -1,
        alive,
        errors: [...new Set(b.unexpected.filter((u) => !before.has(u.line)).map((u) => u.cls))],
      };
      out.push(r);
      log(formatExtreme(r));
      if (s.fresh) {
        const status = await b.stop(30_000);
        if (status.code !== 0) {
          log(`  ${s.name}: broker exited with code ${status.code} after SIGTERM`);
        }
        const lines = [...b.counts].filter(([k]) => k.startsWith("ERROR") || !k.startsWith("INFO"))
          .sort((x, y) => y[1] - x[1]).slice(0, 4);
        for (const [k, v] of lines) log(`  ${v} × ${k}`);
      }
    }
  } finally {
    await shared?.stop();
  }
  return out;
}

/**
 * One result as a line.
 *
 * @param r The result.
 * @returns The line.
 */
export function formatExtreme(r: ExtremeResult): string {
  return `${r.name} (N=${r.n}, ${(r.requestBytes / 2 ** 20).toFixed(1)} MiB): ${r.outcome} in ` +
    `${(r.ms / 1000).toFixed(1)} s (${(r.responseBytes / 2 ** 20).toFixed(1)} MiB); control max ` +
    `${r.controlMaxMs} ms${
      r.controlFailed ? `, ${r.controlFailed} failed` : ""
    }; RSS ${r.rssMb} MiB; ` +
    `${r.openFiles} open files; ${r.alive ? "alive" : "DEAD"}` +
    (r.errors.length ? `; ERROR: ${r.errors.join(", ")}` : "");
}
