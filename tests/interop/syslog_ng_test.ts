// Copyright 2026 the Sluice authors. Apache-2.0 license.
// syslog-ng 3.38 (Debian `syslog-ng-core` + `syslog-ng-mod-rdkafka`, librdkafka 2.0.2) against a
// real Sluice broker: `syslog-ng -F` with a private configuration, persist, pid and control files
// (no /dev/log), lines in over network() TCP and UDP on 127.0.0.1, out through kafka-c() (a static
// topic keyed by host with snappy, a templated topic with a fallback, a sync-send() destination);
// a broker restart while it runs; a topic the broker will not create.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { interopTest, uniqueTopic } from "../harness.ts";
import { murmur2, toPositive } from "../../client/murmur2.ts";
import {
  type Daemon,
  findSyslogNg,
  freePort,
  requireSyslogNg,
  sendTcp,
  sendTcpThenUdp,
  type ShipperRun,
  startDaemon,
  syslogLine,
  waitForPort,
  waitForRecords,
  withAdmin,
  withShipperRun,
} from "./syslog.ts";

const syslogNg = requireSyslogNg();

/** Where kafka-c() puts a keyed record: Java's murmur2 of the key (positive) modulo the partition
 * count; syslog-ng sets librdkafka's `partitioner` to murmur2_random (rsyslog keeps
 * librdkafka's consistent_random). */
const partitionOf = (key: string, partitions: number) =>
  toPositive(murmur2(new TextEncoder().encode(key))) % partitions;

/** Run syslog-ng in the foreground on `config` (a private directory), kept by `own`. */
async function startSyslogNg(
  dir: string,
  config: string,
  tcpPort: number,
  own: ShipperRun["own"],
): Promise<Daemon> {
  const shipper = findSyslogNg()!;
  await Deno.writeTextFile(`${dir}/syslog-ng.conf`, `@version: 3.38\n${config}`);
  const daemon = own(startDaemon(shipper.binary, [
    "-F",
    "-e",
    "--no-caps",
    "-f",
    `${dir}/syslog-ng.conf`,
    `--module-path=${shipper.modules}`,
    "-R",
    `${dir}/syslog-ng.persist`,
    "-p",
    `${dir}/syslog-ng.pid`,
    "-c",
    `${dir}/syslog-ng.ctl`,
  ], shipper.env));
  await waitForPort(tcpPort, daemon);
  return daemon;
}

const source = (tcp: number, udp?: number) =>
  `options { stats-freq(0); keep-hostname(yes); };
source s_in {
  network(ip("127.0.0.1") port(${tcp}) transport("tcp"));
  ${udp ? `network(ip("127.0.0.1") port(${udp}) transport("udp"));` : ""}
};
`;

interopTest(
  syslogNg,
  "kafka-c(): keyed static topic with snappy, templated topic with fallback, sync-send()",
  async () => {
    await withShipperRun("sluice_syslogng_", { numPartitions: 3 }, async ({ broker, dir, own }) => {
      const bootstrap = broker.bootstrap;
      const prefix = uniqueTopic("sng");
      const [tcp, udp] = [freePort(), freePort()];
      const daemon = await startSyslogNg(
        dir,
        source(tcp, udp) + `
destination d_static {
  kafka-c(bootstrap-servers("${bootstrap}") topic("${prefix}-static") key("\${HOST}")
          message("\${MSG}") config("compression.codec" => "snappy"));
};
destination d_dyna {
  kafka-c(bootstrap-servers("${bootstrap}") topic("${prefix}-\${PROGRAM}")
          fallback-topic("${prefix}-fallback") key("\${HOST}") message("\${MSG}"));
};
destination d_sync {
  kafka-c(bootstrap-servers("${bootstrap}") topic("${prefix}-sync") message("\${MSG}")
          sync-send(yes) config("compression.codec" => "gzip"));
};
log { source(s_in); destination(d_static); destination(d_dyna); destination(d_sync); };
`,
        tcp,
        own,
      );
      // "bad!prog" makes no valid topic name: the templated topic falls back.
      const programs = ["app1", "app2", "bad!prog"];
      const all = await sendTcpThenUdp(
        { tcp, udp },
        (i) => programs[Math.floor(i / 3) % 3],
        bootstrap,
        `${prefix}-static`,
        daemon,
      );
      const byPartition = (
        records: { partition: number; offset: number; key: string | null; value: string }[],
        expected: { host: string; text: string }[],
        key: (s: { host: string }) => string | null,
      ) => {
        for (let part = 0; part < 3; part++) {
          assertEquals(
            records.filter((r) => r.partition === part).map((r) => [r.offset, r.key, r.value]),
            expected.filter((s) => partitionOf(s.host, 3) === part).map((s, i) => [
              i,
              key(s),
              s.text,
            ]),
          );
        }
      };
      // Keyed by host: each host's lines on its key's partition, once each, in order.
      const statics = await waitForRecords(bootstrap, `${prefix}-static`, 33, daemon);
      assertEquals(statics.length, 33);
      byPartition(statics, all, (s) => s.host);
      for (const program of ["app1", "app2"]) {
        const mine = all.filter((s) => s.program === program);
        const got = await waitForRecords(bootstrap, `${prefix}-${program}`, mine.length, daemon);
        assertEquals(got.length, mine.length);
        byPartition(got, mine, (s) => s.host);
      }
      // `${prefix}-bad!prog` is refused by the broker (INVALID_TOPIC_EXCEPTION), as by Kafka;
      // syslog-ng checks names itself and sends those lines to the fallback topic.
      const bad = all.filter((s) => s.program === "bad!prog");
      const fallback = await waitForRecords(bootstrap, `${prefix}-fallback`, bad.length, daemon);
      assertEquals(fallback.length, bad.length);
      byPartition(fallback, bad, (s) => s.host);
      // No key: librdkafka's consistent_random spreads the lines at random; count and order
      // within each partition are what is exact. sync-send(yes) makes kafka-c() a transactional
      // producer (its own transactional.id), one transaction per line: each line is followed by
      // its commit marker, so the partitions end at twice the lines.
      const sync = await waitForRecords(bootstrap, `${prefix}-sync`, 33, daemon);
      assertEquals(sync.length, 33);
      assertEquals(sync.every((r) => r.key === null), true);
      for (let part = 0; part < 3; part++) {
        const values = sync.filter((r) => r.partition === part).map((r) => r.value);
        assertEquals(values, all.map((s) => s.text).filter((t) => values.includes(t)));
      }
      assertEquals(sync.map((r) => r.value).sort(), all.map((s) => s.text).sort());
      const ends = await withAdmin(bootstrap, (admin) =>
        admin.listOffsets(
          [0, 1, 2].map((p) => ({
            topic: `${prefix}-sync`,
            partition: p,
            spec: "latest" as const,
          })),
        ));
      assertEquals(ends.map((e) => Number(e.offset)).reduce((a, b) => a + b, 0), 66);
      for (let part = 0; part < 3; part++) {
        assertEquals(
          sync.filter((r) => r.partition === part).map((r) => r.offset),
          sync.filter((r) => r.partition === part).map((_, i) => 2 * i),
        );
      }
    });
  },
);

interopTest(syslogNg, "a broker restart while kafka-c() runs: nothing lost", async () => {
  await withShipperRun("sluice_syslogng_", {
    listeners: `PLAINTEXT://127.0.0.1:${freePort()}`,
    numPartitions: 1,
  }, async ({ broker, dir, own }) => {
    const bootstrap = broker.bootstrap;
    const topic = uniqueTopic("sng-restart");
    const tcp = freePort();
    const daemon = await startSyslogNg(
      dir,
      source(tcp) + `
destination d_kafka {
  kafka-c(bootstrap-servers("${bootstrap}") topic("${topic}") key("\${HOST}") message("\${MSG}")
          config("compression.codec" => "lz4"));
};
log { source(s_in); destination(d_kafka); };
`,
      tcp,
      own,
    );
    const line = (i: number) => syslogLine("hosta", "app", `line ${i}`);
    await sendTcp(tcp, [1, 2, 3, 4, 5].map(line));
    await waitForRecords(bootstrap, topic, 5, daemon);
    await broker.restart();
    await sendTcp(tcp, [6, 7, 8, 9, 10].map(line));
    const records = await waitForRecords(bootstrap, topic, 10, daemon);
    assertEquals(
      records.map((r) => [r.offset, r.key, r.value]),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => [i - 1, "hosta", `line ${i}`]),
    );
  });
});

interopTest(syslogNg, "a topic the broker will not create: the lines wait", async () => {
  await withShipperRun(
    "sluice_syslogng_",
    { autoCreateTopicsEnable: false },
    async ({ broker, dir, own }) => {
      const topic = uniqueTopic("sng-absent");
      const tcp = freePort();
      const daemon = await startSyslogNg(
        dir,
        source(tcp) + `
destination d_kafka {
  kafka-c(bootstrap-servers("${broker.bootstrap}") topic("${topic}") message("\${MSG}"));
};
log { source(s_in); destination(d_kafka); };
`,
        tcp,
        own,
      );
      await sendTcp(tcp, [syslogLine("hosta", "app", "early")]);
      await new Promise((r) => setTimeout(r, 2_000));
      // Created afterwards: the line that waited in librdkafka's queue arrives, once.
      await withAdmin(
        broker.bootstrap,
        (admin) => admin.createTopics([{ name: topic, numPartitions: 1 }]),
      );
      await sendTcp(tcp, [syslogLine("hosta", "app", "late")]);
      const records = await waitForRecords(broker.bootstrap, topic, 2, daemon);
      assertEquals(records.map((r) => [r.offset, r.value]), [[0, "early"], [1, "late"]]);
    },
  );
});
