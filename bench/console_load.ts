// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The web console's first page load (issue #15's bar: under 300 ms on this machine), in headless
 * Chromium (Debian's `/usr/bin/chromium`, playwright-core): a broker process with its admin
 * listener on 127.0.0.1, topics with records and a consumer group to show, then `--loads` page
 * loads, each in a fresh browser context (no cache), timed from navigation start to the page's
 * first data on screen (the page's `sluice-console-data` performance mark, set once the view's
 * data is rendered). One warm-up load per view is not counted. Prints the median, minimum and
 * maximum per view.
 *
 * @example
 * ```sh
 * deno task bench:console
 * deno run -A bench/console_load.ts --loads 20 --topics 200 --json out.json
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Admin, Client, GroupConsumer, Producer } from "../client/mod.ts";
import { startBrokerProcess } from "./e2e/broker_process.ts";
import { launchChromium } from "../tests/console/browser.ts";

/** Help text. */
export const HELP: string = `Usage: deno run -A bench/console_load.ts [OPTIONS]

Times the web console's first page load in headless Chromium against a broker process.

Options:
  --loads N        Measured loads per view (default 20)
  --topics N       Topics to create (default 50)
  --partitions N   Partitions per topic (default 4)
  --records N      Records produced to each topic (default 100)
  --json FILE      Write the figures as JSON
  -h, --help       Show this help
`;

/**
 * What is timed: `/healthz` first, a text page with no data, as the machine's floor for a first
 * load in a fresh context (to DOMContentLoaded); then the console's landing page, the topic list,
 * a topic and a group (to their first data on screen).
 */
const VIEWS = ["healthz", "", "#/topics", "#/topics/bench-0", "#/groups/bench-group"];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function seed(bootstrap: string, topics: number, partitions: number, records: number) {
  const client = new Client({ bootstrapServers: bootstrap, clientId: "sluice-console-bench" });
  try {
    const admin = new Admin(client);
    await admin.createTopics(
      Array.from({ length: topics }, (_, i) => ({ name: `bench-${i}`, numPartitions: partitions })),
    );
    const producer = new Producer(client);
    for (let i = 0; i < topics; i++) {
      await producer.send({
        topic: `bench-${i}`,
        messages: Array.from({ length: records }, (_, j) => ({
          partition: j % partitions,
          key: `k${j}`,
          value: JSON.stringify({ topic: i, n: j }),
        })),
      });
    }
    await producer.close();
    const consumer = new GroupConsumer(client, {
      groupId: "bench-group",
      autoCommit: false,
      autoOffsetReset: "earliest",
      maxWaitMs: 100,
    });
    consumer.subscribe(["bench-0"]);
    let read = 0;
    for (let i = 0; i < 100 && read < records / 2; i++) read += (await consumer.poll()).length;
    await consumer.commit();
    await consumer.close();
  } finally {
    await client.close();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      loads: { type: "string", default: "20" },
      topics: { type: "string", default: "50" },
      partitions: { type: "string", default: "4" },
      records: { type: "string", default: "100" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const loads = Number(values.loads);
  const topics = Number(values.topics);
  const partitions = Number(values.partitions);
  const records = Number(values.records);
  for (const [k, v] of [["loads", loads], ["topics", topics], ["partitions", partitions]]) {
    if (!Number.isInteger(v) || (v as number) < 1) {
      console.error(`--${k} must be a positive integer`);
      Deno.exit(2);
    }
  }
  const broker = await startBrokerProcess({
    overrides: ["sluice.http.listener=http://127.0.0.1:0"],
  });
  const browser = await launchChromium();
  const figures: Record<string, { median: number; min: number; max: number; loads: number[] }> = {};
  try {
    await seed(broker.bootstrap, topics, partitions, records);
    const base = `${broker.httpUrl}/`;
    for (const view of VIEWS) {
      const times: number[] = [];
      const firstByte: number[] = [];
      const domReady: number[] = [];
      for (let i = 0; i <= loads; i++) {
        const context = await browser.newContext();
        try {
          const page = await context.newPage();
          page.setDefaultTimeout(30_000);
          const floor = view === "healthz";
          await page.goto(base + view);
          if (!floor) await page.waitForSelector("html[data-ready='1']");
          const [ms, ttfb, dcl] = await page.evaluate((floor) => {
            const [mark] = performance.getEntriesByName("sluice-console-data");
            const [nav] = performance.getEntriesByType("navigation") as unknown as {
              responseStart: number;
              domContentLoadedEventEnd: number;
            }[];
            const dcl = nav.domContentLoadedEventEnd;
            return [floor ? dcl : mark.startTime, nav.responseStart, dcl];
          }, floor);
          if (i > 0) {
            firstByte.push(ttfb);
            domReady.push(dcl);
          }
          const failed = await page.locator("#view-error").count();
          if (failed > 0) {
            throw new Error(`${view}: ${await page.locator("#view-error").textContent()}`);
          }
          if (i > 0) times.push(ms); // the first is a warm-up
        } finally {
          await context.close();
        }
      }
      const name = view === "" ? "cluster (/)" : view === "healthz" ? "floor (/healthz)" : view;
      figures[name] = {
        median: median(times),
        min: Math.min(...times),
        max: Math.max(...times),
        loads: times.map((t) => Math.round(t * 10) / 10),
      };
      console.log(
        `${name.padEnd(24)} median ${median(times).toFixed(1)} ms  ` +
          `min ${Math.min(...times).toFixed(1)}  max ${Math.max(...times).toFixed(1)}  ` +
          `(${loads} loads; medians: first byte ${median(firstByte).toFixed(1)}, ` +
          `DOMContentLoaded ${median(domReady).toFixed(1)})`,
      );
    }
  } finally {
    await browser.close();
    await broker.stop();
  }
  console.log(
    `${topics} topics × ${partitions} partitions, ${records} records each; ` +
      `navigation start → first data on screen`,
  );
  if (values.json) {
    await Deno.writeTextFile(
      values.json,
      JSON.stringify({ topics, partitions, records, views: figures }, null, 2) + "\n",
    );
  }
  const landing = figures["cluster (/)"].median;
  console.log(
    `landing page / floor: ${(landing / figures["floor (/healthz)"].median).toFixed(2)}; ` +
      `load average ${(await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ")}`,
  );
  if (landing >= 300) {
    console.error(`the console's first page load is ${landing.toFixed(1)} ms: over the 300 ms bar`);
    Deno.exit(1);
  }
}
