// Copyright 2026 the Sluice authors. Apache-2.0 license.
// rsyslog 8.2302 (Debian `rsyslog` + `rsyslog-kafka`, librdkafka 2.0.2) against a real Sluice
// broker: `rsyslogd -n` with a private configuration, pid file and work directory (no /dev/log),
// lines in over imtcp and imudp on 127.0.0.1, out through omkafka (static topic and key with
// partitions.auto and lz4; dynatopic and dynakey with zstd; a fixed partition with gzip) and read
// back by imkafka in a consumer group into a file; a broker restart while it runs; a topic the
// broker will not create.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { interopTest, uniqueTopic } from "../harness.ts";
import { crc32 } from "./crc32.ts";
import {
  type Daemon,
  findRsyslog,
  freePort,
  requireRsyslog,
  sendTcp,
  sendTcpThenUdp,
  type ShipperRun,
  startDaemon,
  syslogLine,
  waitForLines,
  waitForPort,
  waitForRecords,
  withAdmin,
  withShipperRun,
} from "./syslog.ts";

const rsyslog = requireRsyslog();

/** librdkafka's consistent_random: CRC-32 of the key modulo the partition count. */
const partitionOf = (key: string, partitions: number) =>
  crc32(new TextEncoder().encode(key)) % partitions;

/** Run rsyslogd in the foreground on `config` (a private directory), kept by `own`. */
async function startRsyslog(
  dir: string,
  config: string,
  tcpPort: number,
  own: ShipperRun["own"],
): Promise<Daemon> {
  const shipper = findRsyslog()!;
  await Deno.mkdir(`${dir}/work`, { recursive: true });
  await Deno.writeTextFile(`${dir}/rsyslog.conf`, config);
  const daemon = own(startDaemon(shipper.binary, [
    "-n",
    "-f",
    `${dir}/rsyslog.conf`,
    "-i",
    `${dir}/rsyslog.pid`,
    "-M",
    shipper.modules,
  ], shipper.env));
  await waitForPort(tcpPort, daemon);
  return daemon;
}

/** The config's head: work directory, modules, the inputs bound to ruleset `tokafka`. */
const head = (dir: string, tcp: number, udp?: number, imkafka = true) =>
  `global(workDirectory="${dir}/work")
module(load="imtcp")
${udp ? `module(load="imudp")` : ""}
module(load="omkafka")
${imkafka ? `module(load="imkafka")` : ""}
template(name="text" type="string" string="%msg:2:$%")
template(name="host" type="string" string="%hostname%")
template(name="raw" type="string" string="%rawmsg%\\n")
input(type="imtcp" address="127.0.0.1" port="${tcp}" ruleset="tokafka")
${udp ? `input(type="imudp" address="127.0.0.1" port="${udp}" ruleset="tokafka")` : ""}
`;

/**
 * A group's committed offset of `partition`, polled until it equals `want` or `ms` passed.
 */
function committedOffset(
  bootstrap: string,
  group: string,
  want: number,
  ms = 10_000,
  partition = 0,
): Promise<number> {
  return withAdmin(bootstrap, async (admin) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const offsets = await admin.listConsumerGroupOffsets(group);
      const offset = Number(offsets.find((o) => o.partition === partition)?.offset ?? -1);
      if (offset === want || Date.now() >= deadline) return offset;
      await new Promise((r) => setTimeout(r, 250));
    }
  });
}

/** rsyslogd with one omkafka action (`confParam`) to `topic`, its failures in `errors.json`. */
const startErrorfile = (
  dir: string,
  tcp: number,
  bootstrap: string,
  topic: string,
  confParam: string,
  own: ShipperRun["own"],
) =>
  startRsyslog(
    dir,
    head(dir, tcp, undefined, false) + `
ruleset(name="tokafka") {
  action(type="omkafka" broker=["${bootstrap}"] template="text" topic="${topic}"
         errorfile="${dir}/errors.json" confParam=["${confParam}"])
}
`,
    tcp,
    own,
  );

const texts = (records: { value: string }[]) => records.map((r) => r.value);

interopTest(
  rsyslog,
  "omkafka (static key, dynatopic, dynakey, fixed partition; lz4, zstd, gzip) and imkafka in a group",
  async () => {
    await withShipperRun("sluice_rsyslog_", { numPartitions: 3 }, async ({ broker, dir, own }) => {
      const bootstrap = broker.bootstrap;
      const prefix = uniqueTopic("rs");
      const [tcp, udp] = [freePort(), freePort()];
      const group = `${prefix}-g`;
      const action = `type="omkafka" broker=["${bootstrap}"] template="text"`;
      // imkafka subscribes before its topic exists (UNKNOWN_TOPIC_OR_PARTITION, as from Kafka,
      // whose consumers do not create topics); omkafka's first record creates it.
      const daemon = await startRsyslog(
        dir,
        head(dir, tcp, udp) + `
template(name="dyna" type="string" string="${prefix}-%programname%")
ruleset(name="tokafka") {
  action(${action} topic="${prefix}-static" key="fixed" partitions.auto="on"
         confParam=["compression.codec=lz4"])
  action(${action} topic="dyna" dynatopic="on" key="host" dynakey="on" partitions.auto="on"
         confParam=["compression.codec=zstd"])
  action(${action} topic="${prefix}-fixed" partitions.usefixed="2"
         confParam=["compression.codec=gzip"])
}
input(type="imkafka" topic="${prefix}-static" broker="${bootstrap}" consumergroup="${group}"
      ruleset="fromkafka")
ruleset(name="fromkafka") { action(type="omfile" file="${dir}/imkafka.out" template="raw") }
`,
        tcp,
        own,
      );
      const all = await sendTcpThenUdp(
        { tcp, udp },
        (i) => i % 2 ? "app1" : "app2",
        bootstrap,
        `${prefix}-static`,
        daemon,
      );

      // Static topic and key: every line once, in order, on the key's partition.
      const statics = await waitForRecords(bootstrap, `${prefix}-static`, 33, daemon);
      const p = partitionOf("fixed", 3);
      assertEquals(
        statics.map((r) => [r.partition, r.offset, r.key, r.value]),
        all.map((s, i) => [p, i, "fixed", s.text]),
      );
      // dynatopic: one topic per program; dynakey: the host, each host on its key's partition,
      // in order per partition.
      for (const program of ["app1", "app2"]) {
        const mine = all.filter((s) => s.program === program);
        const got = await waitForRecords(bootstrap, `${prefix}-${program}`, mine.length, daemon);
        assertEquals(got.length, mine.length);
        for (let part = 0; part < 3; part++) {
          const expected = mine.filter((s) => partitionOf(s.host, 3) === part);
          assertEquals(
            got.filter((r) => r.partition === part).map((r) => [r.offset, r.key, r.value]),
            expected.map((s, i) => [i, s.host, s.text]),
          );
        }
      }
      // partitions.usefixed: everything on partition 2, no key.
      const fixed = await waitForRecords(bootstrap, `${prefix}-fixed`, 33, daemon);
      assertEquals(
        fixed.map((r) => [r.partition, r.offset, r.key, r.value]),
        all.map((s, i) => [2, i, null, s.text]),
      );

      // imkafka read the static topic through its group, once each, in order, and committed.
      const lines = await waitForLines(`${dir}/imkafka.out`, 33, daemon);
      assertEquals(lines, texts(statics));
      assertEquals(await committedOffset(bootstrap, group, 33, 15_000, p), 33);
      const [described] = await withAdmin(bootstrap, (admin) => admin.describeGroups([group]));
      assertEquals([described.state, described.members.length], ["Stable", 1]);
    });
  },
);

interopTest(rsyslog, "a broker restart while omkafka and imkafka run", async () => {
  await withShipperRun("sluice_rsyslog_", {
    listeners: `PLAINTEXT://127.0.0.1:${freePort()}`,
    numPartitions: 1,
  }, async ({ broker, dir, own }) => {
    const bootstrap = broker.bootstrap;
    const topic = uniqueTopic("rs-restart");
    const tcp = freePort();
    // A queue and endless retries, as rsyslog's documentation advises for a remote output: while
    // the broker is away the action is suspended and the lines wait in the queue.
    const daemon = await startRsyslog(
      dir,
      head(dir, tcp) + `
ruleset(name="tokafka") {
  action(type="omkafka" broker=["${bootstrap}"] template="text" topic="${topic}" key="k"
         partitions.auto="on" confParam=["compression.codec=snappy"]
         queue.type="LinkedList" action.resumeRetryCount="-1" action.resumeInterval="1")
}
input(type="imkafka" topic="${topic}" broker="${bootstrap}" consumergroup="${topic}-g"
      ruleset="fromkafka")
ruleset(name="fromkafka") { action(type="omfile" file="${dir}/imkafka.out" template="raw") }
`,
      tcp,
      own,
    );
    const line = (i: number) => syslogLine("hosta", "app", `line ${i}`);
    await sendTcp(tcp, [1, 2, 3, 4, 5].map(line));
    await waitForRecords(bootstrap, topic, 5, daemon);
    await waitForLines(`${dir}/imkafka.out`, 5, daemon);
    // imkafka's auto-commit (every 5 s) reaches 5; the broker keeps it across its restart.
    assertEquals(await committedOffset(bootstrap, `${topic}-g`, 5), 5);
    await broker.restart();
    assertEquals(await committedOffset(bootstrap, `${topic}-g`, 5, 0), 5);
    await sendTcp(tcp, [6, 7, 8, 9, 10].map(line));
    // omkafka 8.2302 writes the first line after a disconnection twice: its doAction hands the
    // line to librdkafka, then returns SUSPENDED because the error callback flagged the broker
    // as down (plugins/omkafka/omkafka.c), and rsyslog retries the line after tryResume. Kafka's
    // restart closes the connections the same way. Every other line arrives once, in order.
    // (Where the second copy lands depends on rsyslog's batch: after line 6 or after line 10.)
    const expected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => `line ${i}`);
    const records = await waitForRecords(bootstrap, topic, expected.length + 1, daemon);
    assertEquals(records.map((r) => [r.offset, r.key]), records.map((_, i) => [i, "k"]));
    const values = records.map((r) => r.value);
    const firsts = values.filter((v, i) => values.indexOf(v) === i);
    assertEquals(firsts, expected);
    assertEquals(values.filter((v, i) => values.indexOf(v) !== i), ["line 6"]);
    // imkafka's consumer rejoined its group after the restart and read on from its position:
    // exactly the topic's records, once each.
    const lines = await waitForLines(`${dir}/imkafka.out`, values.length, daemon);
    assertEquals(lines, values);
  });
});

interopTest(rsyslog, "a topic the broker will not create: omkafka's errorfile", async () => {
  await withShipperRun(
    "sluice_rsyslog_",
    { autoCreateTopicsEnable: false },
    async ({ broker, dir, own }) => {
      const topic = uniqueTopic("rs-absent");
      const tcp = freePort();
      const daemon = await startErrorfile(
        dir,
        tcp,
        broker.bootstrap,
        topic,
        "topic.metadata.propagation.max.ms=1000",
        own,
      );
      // omkafka runs librdkafka's callbacks (delivery reports) when its next line comes, and when
      // it closes: the first line fails after topic.metadata.propagation.max.ms (1 s), a second
      // line 3 s later makes omkafka write its error, stopping the daemon writes the second's.
      await sendTcp(tcp, [syslogLine("hosta", "app", "nowhere")]);
      await new Promise((r) => setTimeout(r, 3_000));
      await sendTcp(tcp, [syslogLine("hosta", "app", "nowhere 2")]);
      const [error] = await waitForLines(`${dir}/errors.json`, 1, daemon);
      // The broker's UNKNOWN_TOPIC_OR_PARTITION (3) in Metadata, as Kafka answers with
      // auto.create.topics.enable=false, is what librdkafka fails the record with.
      assertEquals(JSON.parse(error), {
        errcode: 3,
        errmsg: "Broker: Unknown topic or partition",
        data: "nowhere",
      });
    },
  );
});

/** An RFC 3164 timestamp (`Mmm dd hh:mm:ss`, local time as rsyslog reads it) for `ms`. */
function rfc3164(ms: number): string {
  const d = new Date(ms);
  const month = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
  ];
  const two = (n: number) => String(n).padStart(2, "0");
  return `${month[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

interopTest(
  rsyslog,
  "message.timestamp.before.max.ms: a batch with a replayed old line is refused, as by Kafka",
  async () => {
    // omkafka gives each record the timestamp of its syslog header. Kafka checks every record's
    // timestamp against the topic's limits (LogValidator); Sluice once checked only the batch's
    // first, and took a batch of a current line and a three-day-old one.
    await withShipperRun("sluice_rsyslog_", {}, async ({ broker, dir, own }) => {
      const topic = uniqueTopic("rs-old");
      await withAdmin(broker.bootstrap, (admin) =>
        admin.createTopics([{
          name: topic,
          numPartitions: 1,
          configs: { "message.timestamp.before.max.ms": String(86_400_000) },
        }]));
      const tcp = freePort();
      const daemon = await startErrorfile(
        dir,
        tcp,
        broker.bootstrap,
        topic,
        "queue.buffering.max.ms=300",
        own,
      );
      const now = Date.now();
      const at = (ms: number, text: string) => `<13>${rfc3164(ms)} hosta app: ${text}`;
      // One TCP write inside librdkafka's 300 ms linger: one batch.
      await sendTcp(tcp, [at(now, "current"), at(now - 3 * 86_400_000, "three days old")]);
      await new Promise((r) => setTimeout(r, 2_000));
      // The next line makes omkafka run its callbacks (the errorfile), and is itself written.
      await sendTcp(tcp, [at(Date.now(), "later")]);
      const errors = await waitForLines(`${dir}/errors.json`, 2, daemon);
      assertEquals(errors.map((e) => JSON.parse(e)), [
        { errcode: 32, errmsg: "Broker: Invalid timestamp", data: "current" },
        { errcode: 32, errmsg: "Broker: Invalid timestamp", data: "three days old" },
      ]);
      const records = await waitForRecords(broker.bootstrap, topic, 1, daemon);
      assertEquals(records.map((r) => [r.offset, r.value]), [[0, "later"]]);
    });
  },
);
