// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * What scraping `/metrics` costs the broker (issue #15's bar: under 1% of its CPU in the 100-byte
 * load). One broker process with `sluice.http.listener`, the load tool's `100b` workload (1M
 * records of 100 B, 1 partition, acks=1, a producer and a consumer) run in rounds without and
 * with a scraper fetching `/metrics` every second, alternating the order between rounds so drift
 * (page cache, JIT, other load on the machine) falls on both; then, with the broker idle, a burst
 * of back-to-back scrapes to measure the CPU of one scrape directly. Broker CPU is the
 * nanoseconds on CPU of its threads (`/proc/<pid>/task/<tid>/schedstat`, see `cpuBetween` in
 * `tests/process_usage.ts`).
 *
 * @example
 * ```sh
 * deno run -A bench/e2e/scrape_cost.ts --rounds 2 --client rdkafka
 * deno run -A bench/e2e/scrape_cost.ts --scale 0.2 --partitions 1000
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Admin, Client } from "../../client/mod.ts";
import { type BrokerProcess, startBrokerProcess } from "./broker_process.ts";
import { cpuBetween } from "../../tests/process_usage.ts";
import { buildRdkafkaPerf, type ClientName, startConsumer, startProducer } from "./workers.ts";

/** Help text. */
export const HELP: string = `Usage: deno run -A bench/e2e/scrape_cost.ts [OPTIONS]

Runs the 100b workload against one broker without and with a /metrics scraper, and prints the
broker's CPU for each, and the CPU of one scrape.

Options:
  --client C         rdkafka (default) or sluice
  --rounds N         Rounds of (without, with) runs (default 2)
  --scale F          Multiply the 1M records by F (default 1)
  --scrape-ms N      Scrape period (default 1000)
  --burst N          Back-to-back scrapes on the idle broker (default 200)
  --partitions N     Extra idle topic partitions, so /metrics has more series (default 0)
  --json FILE        Write the figures as JSON
  -h, --help         Show this help
`;

interface RunFigures {
  round: number;
  scraper: boolean;
  records: number;
  seconds: number;
  brokerCpuSeconds: number;
  /** Broker CPU seconds per second from the producer's start to its last acknowledgement. */
  loadedCpuRate: number;
  scrapes: number;
  scrapeMsMax: number;
  scrapeBytes: number;
}

async function createTopic(bootstrap: string, name: string, partitions: number): Promise<void> {
  const client = new Client({ bootstrapServers: bootstrap, clientId: "sluice-scrape-cost" });
  try {
    await new Admin(client).createTopics([{ name, numPartitions: partitions }]);
  } finally {
    await client.close();
  }
}

/** Fetches `/metrics` every `periodMs` until stopped; returns the count, slowest and size. */
function startScraper(url: string, periodMs: number) {
  let stop = false;
  let scrapes = 0, maxMs = 0, bytes = 0;
  const done = (async () => {
    while (!stop) {
      const t0 = performance.now();
      const body = await (await fetch(`${url}/metrics`)).text();
      maxMs = Math.max(maxMs, performance.now() - t0);
      bytes = body.length;
      scrapes++;
      const wait = periodMs - (performance.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return { scrapes, maxMs, bytes };
    },
  };
}

async function runOnce(
  broker: BrokerProcess,
  client: ClientName,
  rdkafka: string | undefined,
  topic: string,
  records: number,
  scrapeMs: number | undefined,
): Promise<Omit<RunFigures, "round">> {
  await createTopic(broker.bootstrap, topic, 1);
  const common = { bootstrap: broker.bootstrap, topic, partitions: 1, records };
  const before = await broker.usage();
  const t0 = performance.now();
  const consumer = startConsumer(client, rdkafka, { ...common, idleMs: 15_000 }, 600_000);
  await consumer.ready;
  const scraper = scrapeMs === undefined ? undefined : startScraper(broker.httpUrl!, scrapeMs);
  const atProduce = await broker.usage();
  const t1 = performance.now();
  const producer = startProducer(
    client,
    rdkafka,
    { ...common, size: 100, acks: 1, rate: 0 },
    600_000,
  );
  let loadedCpuRate = 0;
  try {
    const produced = producer.result.then(async (p) => {
      const u = await broker.usage();
      loadedCpuRate = cpuBetween(atProduce, u).seconds / ((performance.now() - t1) / 1000);
      return p;
    });
    const [p, c] = await Promise.all([produced, consumer.result]);
    if (p.errors > 0 || c.unique !== records) {
      throw new Error(`run failed: ${p.errors} produce errors, ${c.unique}/${records} consumed`);
    }
  } finally {
    producer.kill();
    consumer.kill();
  }
  const seconds = (performance.now() - t0) / 1000;
  const s = await scraper?.stop();
  const after = await broker.usage();
  return {
    scraper: scrapeMs !== undefined,
    records,
    seconds,
    brokerCpuSeconds: cpuBetween(before, after).seconds,
    loadedCpuRate,
    scrapes: s?.scrapes ?? 0,
    scrapeMsMax: s?.maxMs ?? 0,
    scrapeBytes: s?.bytes ?? 0,
  };
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      client: { type: "string", default: "rdkafka" },
      rounds: { type: "string", default: "2" },
      scale: { type: "string", default: "1" },
      "scrape-ms": { type: "string", default: "1000" },
      burst: { type: "string", default: "200" },
      partitions: { type: "string", default: "0" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const client = values.client as ClientName;
  const rounds = Number(values.rounds), scale = Number(values.scale);
  const scrapeMs = Number(values["scrape-ms"]), burst = Number(values.burst);
  const extra = Number(values.partitions);
  if (
    (client !== "rdkafka" && client !== "sluice") || !(rounds >= 1 && rounds <= 10) ||
    !(scale > 0 && scale <= 10) || !(scrapeMs >= 10) || !(burst >= 1 && burst <= 10_000) ||
    !(extra >= 0 && extra <= 10_000)
  ) {
    console.error("scrape_cost: bad arguments\n" + HELP);
    return 2;
  }
  const rdkafka = client === "rdkafka" ? await buildRdkafkaPerf() : undefined;
  const records = Math.round(1_000_000 * scale);
  const broker = await startBrokerProcess({
    overrides: ["sluice.http.listener=http://127.0.0.1:0"],
  });
  const runs: RunFigures[] = [];
  let perScrape = { cpuMs: 0, ms: 0, bytes: 0, series: 0 };
  try {
    const id = Date.now().toString(36);
    if (extra > 0) await createTopic(broker.bootstrap, `idle-${id}`, extra);
    console.error(`warm-up: ${Math.min(records, 100_000)} records`);
    await runOnce(broker, client, rdkafka, `warm-${id}`, Math.min(records, 100_000), scrapeMs);
    for (let round = 1; round <= rounds; round++) {
      // alternate the order: drift over the run falls on both
      const order = round % 2 === 1 ? [false, true] : [true, false];
      for (const on of order) {
        const topic = `scrape-${id}-${round}-${on ? "on" : "off"}`;
        const r = await runOnce(broker, client, rdkafka, topic, records, on ? scrapeMs : undefined);
        runs.push({ round, ...r });
        console.error(
          `round ${round} scraper ${on ? "on " : "off"}: ${r.seconds.toFixed(2)} s, broker CPU ` +
            `${r.brokerCpuSeconds.toFixed(2)} s, ${r.scrapes} scrapes`,
        );
      }
    }
    // the broker idle: CPU of back-to-back scrapes, less the idle broker's own
    const idle0 = await broker.usage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 2000));
    const idleRate = cpuBetween(idle0, await broker.usage()).seconds /
      ((performance.now() - t0) / 1000);
    const b0 = await broker.usage();
    const t1 = performance.now();
    let body = "";
    for (let i = 0; i < burst; i++) body = await (await fetch(`${broker.httpUrl}/metrics`)).text();
    const wall = (performance.now() - t1) / 1000;
    const cpu = cpuBetween(b0, await broker.usage()).seconds - idleRate * wall;
    perScrape = {
      cpuMs: (cpu / burst) * 1000,
      ms: (wall / burst) * 1000,
      bytes: body.length,
      series: body.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length,
    };
  } finally {
    await broker.stop();
  }
  const sum = (on: boolean, f: (r: RunFigures) => number) =>
    runs.filter((r) => r.scraper === on).reduce((n, r) => n + f(r), 0);
  const cpuOff = sum(false, (r) => r.brokerCpuSeconds),
    cpuOn = sum(true, (r) => r.brokerCpuSeconds);
  const secOn = sum(true, (r) => r.seconds);
  const lines = [
    "| round | scraper | records | seconds | broker CPU s | CPU µs/record | CPU s/s producing | scrapes |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...runs.map((r) =>
      `| ${r.round} | ${r.scraper ? "every " + scrapeMs + " ms" : "none"} | ${r.records} | ` +
      `${r.seconds.toFixed(2)} | ${r.brokerCpuSeconds.toFixed(2)} | ` +
      `${((r.brokerCpuSeconds / r.records) * 1e6).toFixed(2)} | ${r.loadedCpuRate.toFixed(3)} | ` +
      `${r.scrapes} |`
    ),
  ];
  console.log(lines.join("\n"));
  console.log(
    `\nbroker CPU with the scraper / without: ${(cpuOn / cpuOff).toFixed(4)} ` +
      `(${(((cpuOn - cpuOff) / cpuOff) * 100).toFixed(2)}%, A/B over ${rounds} rounds)`,
  );
  const rateOff = runs.filter((r) => !r.scraper).map((r) => r.loadedCpuRate);
  const loaded = rateOff.reduce((a, b) => a + b, 0) / rateOff.length;
  const wholeRun = cpuOn / secOn;
  const loadCpuPerSec = wholeRun;
  console.log(
    `one scrape on the idle broker: ${perScrape.cpuMs.toFixed(2)} ms CPU, ` +
      `${perScrape.ms.toFixed(2)} ms wall, ${perScrape.bytes} bytes, ${perScrape.series} series; ` +
      `one per ${scrapeMs} ms is ${
        ((perScrape.cpuMs / scrapeMs) / loadCpuPerSec * 100).toFixed(3)
      }% of the broker's CPU over the whole runs (${loadCpuPerSec.toFixed(3)} CPU s/s), ${
        ((perScrape.cpuMs / scrapeMs) / loaded * 100).toFixed(3)
      }% of it while producing (${loaded.toFixed(3)} CPU s/s)`,
  );
  if (values.json) {
    await Deno.writeTextFile(
      values.json,
      JSON.stringify({ client, scale, scrapeMs, runs, perScrape, wholeRun, loaded }, null, 2) +
        "\n",
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
