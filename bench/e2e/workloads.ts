// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The load tool's workloads (issue #7): record counts and sizes, acks, partitions, fsync-before-ack
 * and the fixed-rate latency run.
 *
 * @module
 */

/** One workload: what is produced (and consumed end to end) in one run. */
export interface Workload {
  /** Name used in flags, tables and topic names. */
  name: string;
  /** What it measures. */
  description: string;
  /** Records at scale 1. */
  records: number;
  /** Value size in bytes. */
  size: number;
  /** Topic partitions. */
  partitions: number;
  /** Producer acks: 1 (leader) or -1 (all). */
  acks: 1 | -1;
  /** fsync before ack (topic config `flush.messages=1`). */
  fsync: boolean;
  /** Producer rate in records per second; 0 = as fast as possible. */
  rate: number;
}

/** Every workload, in table order. */
export const WORKLOADS: readonly Workload[] = [
  {
    name: "100b",
    description: "1M records of 100 B, 1 partition, acks=1",
    records: 1_000_000,
    size: 100,
    partitions: 1,
    acks: 1,
    fsync: false,
    rate: 0,
  },
  {
    name: "100b-acks-all",
    description: "1M records of 100 B, 1 partition, acks=all",
    records: 1_000_000,
    size: 100,
    partitions: 1,
    acks: -1,
    fsync: false,
    rate: 0,
  },
  {
    name: "100b-8p",
    description: "1M records of 100 B, 8 partitions, acks=1",
    records: 1_000_000,
    size: 100,
    partitions: 8,
    acks: 1,
    fsync: false,
    rate: 0,
  },
  {
    name: "1kib",
    description: "200k records of 1 KiB, 1 partition, acks=1",
    records: 200_000,
    size: 1024,
    partitions: 1,
    acks: 1,
    fsync: false,
    rate: 0,
  },
  {
    name: "1kib-fsync",
    description: "200k records of 1 KiB, 1 partition, acks=all, fsync before ack",
    records: 200_000,
    size: 1024,
    partitions: 1,
    acks: -1,
    fsync: true,
    rate: 0,
  },
  {
    name: "16kib",
    description: "20k records of 16 KiB, 1 partition, acks=1",
    records: 20_000,
    size: 16_384,
    partitions: 1,
    acks: 1,
    fsync: false,
    rate: 0,
  },
  {
    name: "latency-50k",
    description: "500k records of 100 B at a fixed 50k rec/s, 1 partition, acks=1",
    records: 500_000,
    size: 100,
    partitions: 1,
    acks: 1,
    fsync: false,
    rate: 50_000,
  },
];

/**
 * Picks workloads by name and scales their record counts (rates stay fixed).
 *
 * @example
 * ```ts
 * import { selectWorkloads } from "./workloads.ts";
 * console.log(selectWorkloads(["1kib"], 0.1)[0].records); // 20000
 * ```
 *
 * @param names Workload names; empty or `["all"]` for every workload.
 * @param scale Record-count factor, > 0.
 * @returns The workloads, in table order.
 * @throws {RangeError} On an unknown name or an invalid scale.
 */
export function selectWorkloads(names: readonly string[], scale: number): Workload[] {
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new RangeError(`--scale ${scale} is invalid: expected a number > 0`);
  }
  const all = names.length === 0 || (names.length === 1 && names[0] === "all");
  for (const n of names) {
    if (n !== "all" && !WORKLOADS.some((w) => w.name === n)) {
      throw new RangeError(
        `unknown workload "${n}": expected one of ${WORKLOADS.map((w) => w.name).join(", ")}`,
      );
    }
  }
  return WORKLOADS.filter((w) => all || names.includes(w.name)).map((w) => ({
    ...w,
    records: Math.max(1, Math.round(w.records * scale)),
  }));
}
