// Copyright 2026 the Sluice authors. Apache-2.0 license.
// `deno task cluster:chaos`'s command line: the defaults are the full run of docs/RELIABILITY.md,
// and a bad flag is a clean message, not a run with something else.
import { deepStrictEqual as assertEquals, ok, throws } from "node:assert/strict";
import { DEFAULT_HOLD_MS, FAULT_KINDS } from "./harness.ts";
import {
  failoverLine,
  kindTable,
  parseClusterChaosArgs,
  timingTable,
  totalsTable,
} from "./main.ts";

const parse = (args: string[]) => parseClusterChaosArgs(args, () => {});

Deno.test("cluster:chaos args: the defaults are the full run", () => {
  const o = parse(["--seed", "7"]);
  if (typeof o === "string") throw new Error(o);
  assertEquals(
    [o.seed, o.cycles, o.faults, o.etcdMembers, o.partitions, o.replicationFactor],
    [7, 50, [...FAULT_KINDS], 3, 3, 3],
  );
  assertEquals([o.minInsyncReplicas, o.waitFullIsr, o.kcat, o.modernLibrdkafka], [
    2,
    true,
    true,
    false,
  ]);
  assertEquals(o.holdMs, DEFAULT_HOLD_MS);
  assertEquals([o.producers, o.consumers], [["confluent", "sluice"], ["confluent", "sluice"]]);
});

Deno.test("cluster:chaos args: faults, holds, overrides; one etcd member without etcd-kill", () => {
  const o = parse([
    "--faults",
    "isolate,leader-kill",
    "--cycles",
    "3",
    "--hold",
    "isolate=100-200",
    "--override",
    "replica.lag.time.max.ms=10000",
    "--override",
    "broker.session.timeout.ms=3000",
  ]);
  if (typeof o === "string") throw new Error(o);
  assertEquals([o.faults, o.cycles, o.etcdMembers], [["isolate", "leader-kill"], 3, 1]);
  assertEquals(o.holdMs.isolate, [100, 200]);
  assertEquals(o.holdMs["leader-kill"], DEFAULT_HOLD_MS["leader-kill"]);
  assertEquals(o.brokerOverrides, [
    "replica.lag.time.max.ms=10000",
    "broker.session.timeout.ms=3000",
  ]);
  ok(o.seed >= 0);
  const q = parse(["--faults", "etcd-quorum"]);
  if (typeof q === "string") throw new Error(q);
  assertEquals(q.etcdMembers, 3);
  assertEquals(parse(["--help"]), "help");
  assertEquals(parse(["--cleanup"]), "cleanup");
});

Deno.test("cluster:chaos args: bad values are refused with the flag", () => {
  throws(() => parse(["--faults", "leader-kill,meteor"]), /invalid --faults "meteor"/);
  throws(() => parse(["--faults", "etcd-kill", "--etcd-members", "1"]), /etcd-kill needs/);
  throws(
    () => parse(["--faults", "reassign,etcd-quorum", "--etcd-members", "1"]),
    /etcd-quorum needs/,
  );
  throws(() => parse(["--hold", "isolate=9-1"]), /invalid --hold/);
  throws(() => parse(["--hold", "nap=1-2"]), /invalid --hold/);
  throws(() => parse(["--min-insync", "4"]), /invalid --min-insync/);
  throws(() => parse(["--cycles", "many"]), /invalid --cycles "many"/);
  throws(() => parse(["--bogus"]), RangeError);
});

Deno.test("cluster:chaos tables: empty run, failed cycle, failover line", () => {
  const result = {
    seed: 1,
    cycles: [{
      n: 1,
      kind: "leader-kill" as const,
      index: 1,
      target: "broker 1",
      startedAt: 0,
      electionMs: 1500,
      failoverMs: 1800,
      recoveryMs: 900,
      producersBackMs: 400,
      consumersBackMs: 700,
      notes: [],
      failures: ["boom"],
    }],
    acked: 10,
    reads: 10,
    checks: [],
    divergentOffsets: 0,
    divergenceKinds: {},
    divergences: [],
    replicasCompared: 16,
    replicaDiffs: [],
    commits: { acked: 1, observed: 1, lost: 0, backwards: 0, examples: [] },
    producerRestarts: [],
    acksWithoutOffset: 0,
    resends: [],
    consumerRestarts: [],
    byKind: {
      "leader-kill": { acked: 10, lost: 0, divergent: 0, dup: 0, reads: 10, commits: 1 },
    },
    failures: ["boom"],
    ok: false,
    dir: "/tmp/x",
    durationMs: 1,
  };
  ok(
    kindTable(result).includes(
      "| leader-kill | 1      | 10    | 0    | 0         | 0   | 10   | 1 ",
    ),
  );
  ok(totalsTable(result).includes("| 0/16 "));
  ok(totalsTable(result).endsWith("| FAIL   |"));
  ok(failoverLine(result)!.includes("n=1: min 1.80 s"));
  assertEquals(failoverLine({ ...result, cycles: [] }), undefined);
  const timings = timingTable(result);
  ok(timings.includes("| a new leader in etcd (leader-kill)       | 1 | 1.50  | 1.50  | 1.50 "));
  ok(timings.includes("| the first acks=all produce (leader-kill) | 1 | 1.80  |"));
  assertEquals(timingTable({ ...result, cycles: [] }), "");
});
