// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * TLS against plaintext in one run (issue #14's bar: produce and consume over TLS reach at least
 * 60% of plaintext throughput for 1 KiB records with librdkafka). One broker process with a
 * PLAINTEXT and an SSL listener (certificates made here with openssl); `rdkafka_perf` produces
 * RECORDS records of 1 KiB (acks=1, as fast as it can) to a fresh topic, then consumes them all
 * from the start, alternately over each listener, ROUNDS times; prints each run and the medians'
 * ratios.
 *
 * @example
 * ```sh
 * deno task bench:tls                    # 300000 records x 3 rounds
 * deno task bench:tls --records 100000 --rounds 1
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Admin, Client } from "../client/mod.ts";
import { startBrokerProcess } from "./e2e/broker_process.ts";
import { cpuBetween } from "../tests/process_usage.ts";
import { buildRdkafkaPerf, startConsumer, startProducer } from "./e2e/workers.ts";
import { makeCertificates } from "../tests/tls_certs.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    records: { type: "string", default: "300000" },
    rounds: { type: "string", default: "3" },
    partitions: { type: "string", default: "4" },
  },
});
const RECORDS = Number(values.records);
const ROUNDS = Number(values.rounds);
const PARTITIONS = Number(values.partitions);
const SIZE = 1024;
const TIMEOUT_MS = 600_000;

const certs = await makeCertificates();
const rdkafka = await buildRdkafkaPerf();
const broker = await startBrokerProcess({
  overrides: [
    "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
    `ssl.keystore.location=${certs.serverKeystorePath}`,
  ],
});

interface Run {
  mode: "plaintext" | "ssl";
  produceMbPerSec: number;
  consumeMbPerSec: number;
  /** Broker CPU seconds per 100 MB produced, then consumed: robust on a loaded machine. */
  produceCpu: number;
  consumeCpu: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const sslLine = broker.stderrTail().find((l) => /listener SSL \(SSL\), on /.test(l));
  const sslPort = /listener SSL \(SSL\), on [^ ]*:(\d+)/.exec(sslLine ?? "")?.[1];
  if (sslPort === undefined) throw new Error(`no SSL listener in ${broker.stderrTail()}`);
  const endpoints = {
    plaintext: { bootstrap: broker.bootstrap, conf: {} },
    ssl: {
      bootstrap: `localhost:${sslPort}`,
      conf: { "security.protocol": "ssl", "ssl.ca.location": certs.caPath },
    },
  };
  const runs: Run[] = [];
  const admin = new Client({ bootstrapServers: broker.bootstrap });
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of ["plaintext", "ssl"] as const) {
      const { bootstrap, conf } = endpoints[mode];
      const topic = `tls-bench-${round}-${mode}`;
      await new Admin(admin).createTopics([{ name: topic, numPartitions: PARTITIONS }]);
      const common = { bootstrap, topic, partitions: PARTITIONS, records: RECORDS, conf };
      const cpu0 = await broker.usage();
      const p = await startProducer(
        "rdkafka",
        rdkafka,
        { ...common, size: SIZE, acks: 1, rate: 0 },
        TIMEOUT_MS,
      ).result;
      if (p.errors > 0) throw new Error(`${mode} producer: ${p.firstError}`);
      const cpu1 = await broker.usage();
      const c = await startConsumer("rdkafka", rdkafka, { ...common, idleMs: 15_000 }, TIMEOUT_MS)
        .result;
      if (c.unique !== RECORDS) throw new Error(`${mode} consumer: ${c.unique}/${RECORDS}`);
      const cpu2 = await broker.usage();
      const mb = RECORDS * SIZE / 1e6;
      const run = {
        mode,
        produceMbPerSec: p.bytes / 1e6 / p.seconds,
        consumeMbPerSec: c.unique * SIZE / 1e6 / c.seconds,
        produceCpu: cpuBetween(cpu0, cpu1).seconds / mb * 100,
        consumeCpu: cpuBetween(cpu1, cpu2).seconds / mb * 100,
      };
      runs.push(run);
      console.log(
        `round ${round + 1} ${mode.padEnd(9)} produce ${run.produceMbPerSec.toFixed(1)} MB/s ` +
          `(broker ${run.produceCpu.toFixed(2)} CPU s/100 MB), consume ` +
          `${run.consumeMbPerSec.toFixed(1)} MB/s (broker ${
            run.consumeCpu.toFixed(2)
          } CPU s/100 MB)`,
      );
    }
  }
  await admin.close();
  type Key = "produceMbPerSec" | "consumeMbPerSec" | "produceCpu" | "consumeCpu";
  const of = (mode: Run["mode"], k: Key) =>
    median(runs.filter((r) => r.mode === mode).map((r) => r[k]));
  for (
    const [what, rate, cpu] of [
      ["produce", "produceMbPerSec", "produceCpu"],
      ["consume", "consumeMbPerSec", "consumeCpu"],
    ] as const
  ) {
    const plain = of("plaintext", rate);
    const ssl = of("ssl", rate);
    console.log(
      `${what}: plaintext ${plain.toFixed(1)} MB/s, SSL ${ssl.toFixed(1)} MB/s, SSL/plaintext ` +
        `${(100 * ssl / plain).toFixed(0)}%; broker CPU per MB SSL/plaintext ` +
        `${(100 * of("ssl", cpu) / of("plaintext", cpu)).toFixed(0)}% (medians of ${ROUNDS}, ` +
        `${RECORDS} records of ${SIZE} B, ${PARTITIONS} partitions)`,
    );
  }
} finally {
  await broker.stop();
  await Deno.remove(certs.dir, { recursive: true });
}
