// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The web console (issue #15) driven in headless Chromium (Debian's chromium, playwright-core):
// a real broker on 127.0.0.1:0 with its admin listener on 127.0.0.1:0. A topic is created in the
// browser, kcat produces to it, and the browser's record browser shows exactly those records as
// text, JSON and hex, then tails new ones; a consumer group (our client) stops half-way and the
// page shows its lag, refuses to reset it while the member is active, shows the lag fall to 0
// once it consumed to the end, and resets its offsets once it left, checked over the Kafka
// protocol. Configs are altered, partitions added and a topic deleted in the browser, each
// checked with Kafka's admin APIs. Screenshots go to tests/console/artifacts/.
//
// Fails (not skipped) when CI=true and chromium is missing (tests/harness.ts requireClient).

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { Admin, Client, GroupConsumer, Producer } from "../../client/mod.ts";
import {
  interopTest,
  requireClients,
  runCommand,
  startBroker,
  waitFor,
  withTimeout,
} from "../harness.ts";
import { ARTIFACTS, launchChromium } from "./browser.ts";

const clients = requireClients(["chromium", "kcat"]);

/** Checks `fn`'s value until `good` takes it (bounded: `ms`), failing with the last value seen. */
async function until<T>(
  what: string,
  fn: () => Promise<T>,
  good: (v: T) => boolean,
  ms = 30_000,
): Promise<T> {
  let last: T | undefined;
  await waitFor(what, async () => good(last = await fn()), {
    timeoutMs: ms,
    intervalMs: 200,
    detail: () => `last: ${JSON.stringify(last)}`,
  });
  return last!;
}

function texts(l: Locator): Promise<string[]> {
  return l.allTextContents();
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

async function kcatProduce(bootstrap: string, topic: string, lines: string[]): Promise<void> {
  const r = await runCommand(
    "kcat",
    ["-P", "-b", bootstrap, "-t", topic, "-p", "0", "-K", "|", "-H", "source=kcat"],
    { stdin: lines.join("\n") + "\n" },
  );
  assertEquals(r.code, 0, r.stderr);
}

const record = (i: number) => `key-${i}|{"id":${i},"name":"item-${i}"}`;

interopTest(clients, "the console: topics, records, a group's lag and reset", async (t) => {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const b = await startBroker({ httpListener: "http://127.0.0.1:0" });
  const base = `http://127.0.0.1:${b.broker.httpAddress!.port}/`;
  const browser = await launchChromium();
  const client = new Client({ bootstrapServers: b.bootstrap, clientId: "console-test" });
  const admin = new Admin(client);
  const errors: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (e) => errors.push(e.message));
    const topic = "browser-orders";

    await t.step("the cluster page shows this broker as the controller", async () => {
      await page.goto(base);
      await page.waitForSelector("html[data-ready='1']");
      assertEquals(await texts(page.locator("#brokers tbody tr td")), [
        "1 (this broker)",
        "127.0.0.1",
        String(b.port),
        "–",
        "live",
        "controller",
      ]);
      assertEquals(await page.locator("[data-stat=offline] b").textContent(), "0");
      assertEquals(await page.locator("canvas.chart").count(), 2);
    });

    await t.step("a topic created in the browser exists for Kafka clients", async () => {
      await page.goto(`${base}#/topics`);
      await page.fill("#create-topic input[name=name]", topic);
      await page.fill("#create-topic input[name=partitions]", "1");
      await page.fill("#create-topic input[name=configs]", "retention.ms=3600000");
      await page.click("#create-topic button[type=submit]");
      await page.locator(".message.ok", { hasText: `Created topic ${topic}` }).waitFor();
      const [d] = await admin.describeTopics([topic]);
      assertEquals([d.name, d.partitions.length], [topic, 1]);
      await page.locator(`#topics tr[data-topic='${topic}']`).waitFor();
      // a refused creation shows the broker's reason
      await page.click("#create-topic button[type=submit]");
      await page.locator(".message.error", { hasText: "already exists" }).waitFor();
    });

    await t.step("kcat's records in the record browser as text, JSON and hex", async () => {
      await kcatProduce(b.bootstrap, topic, Array.from({ length: 20 }, (_, i) => record(i)));
      await page.goto(`${base}#/topics/${topic}`);
      await page.click("button[data-tab=records]");
      await page.click("#browse button[type=submit]");
      const rows = page.locator("#records tbody tr");
      await until("20 rows", () => rows.count(), (n) => n === 20);
      assertEquals(
        await texts(page.locator("#records tbody tr td:nth-child(2)")),
        Array.from({ length: 20 }, (_, i) => `${i}`),
      );
      assertEquals(
        await texts(page.locator("#records pre.key")),
        Array.from({ length: 20 }, (_, i) => `key-${i}`),
      );
      assertEquals(
        await texts(page.locator("#records pre.val")),
        Array.from({ length: 20 }, (_, i) => `{"id":${i},"name":"item-${i}"}`),
      );
      assertEquals(
        await texts(page.locator("#records pre.headers")),
        Array(20).fill("source=kcat"),
      );
      await page.selectOption("select[name=format]", "json");
      assertEquals(
        await page.locator("#records pre.val").nth(7).textContent(),
        '{\n  "id": 7,\n  "name": "item-7"\n}',
      );
      assertEquals(
        await page.locator("#records pre.key").first().textContent(),
        "(not JSON) key-0",
      );
      await page.selectOption("select[name=format]", "hex");
      assertEquals(await page.locator("#records pre.key").nth(3).textContent(), "6b 65 79 2d 33");
      assertEquals(
        await page.locator("#records pre.headers").first().textContent(),
        "source=6b 63 61 74",
      );
      await page.selectOption("select[name=format]", "text");
      await shot(page, "records");
      // from an offset, and from the end
      await page.selectOption("select[name=from]", "offset");
      await page.fill("input[name=at]", "17");
      await page.click("#browse button[type=submit]");
      await until(
        "offsets 17-19",
        () => texts(page.locator("#records tbody tr td:nth-child(2)")),
        (v) => v.join() === "17,18,19",
      );
      await page.fill("input[name=at]", "99");
      await page.click("#browse button[type=submit]");
      await page.locator(".message.error", { hasText: "offset 99: it is outside [0, 20]" })
        .waitFor();
      await page.selectOption("select[name=from]", "end");
      await page.fill("input[name=limit]", "3");
      await page.click("#browse button[type=submit]");
      await until(
        "the last 3",
        () => texts(page.locator("#records pre.key")),
        (v) => v.join() === "key-17,key-18,key-19",
      );
      // the live tail shows what kcat produces next
      await page.check("input[name=tail]");
      await kcatProduce(b.bootstrap, topic, [20, 21].map(record));
      await until(
        "tailed records",
        () => texts(page.locator("#records pre.key")),
        (v) => v.join() === "key-19,key-20,key-21",
      );
      await page.uncheck("input[name=tail]");
    });

    const group = "browser-group";
    let consumer: GroupConsumer | undefined = new GroupConsumer(client, {
      groupId: group,
      autoCommit: false,
      autoOffsetReset: "earliest",
      maxWaitMs: 100,
    });
    let last = -1; // the last offset the consumer read (a poll may read past a commit)
    const consumeTo = async (offset: number) => {
      for (let i = 0; i < 200 && last < offset - 1; i++) {
        for (const r of await consumer!.poll()) last = Math.max(last, r.offset);
      }
      ok(last >= offset - 1, `consumed up to ${last}`);
      await consumer!.commit([{ topic, partition: 0, offset }]);
    };
    const lagText = () => page.locator("[data-stat=lag] b").textContent();

    await t.step("a group that stopped half-way: its member, assignment and lag", async () => {
      consumer!.subscribe([topic]);
      await consumeTo(11);
      await page.goto(`${base}#/groups/${group}`);
      await until("lag 11", lagText, (v) => v === "11");
      assertEquals(await page.locator("[data-stat=state] b").textContent(), "Stable");
      assertEquals(
        await texts(page.locator("#members tbody tr td:nth-child(2)")),
        ["console-test"],
      );
      assertEquals(
        await texts(page.locator("#members tbody tr td:nth-child(5)")),
        [`${topic}: 0`],
      );
      assertEquals(await texts(page.locator("#offsets tbody tr td")).then((c) => c.slice(0, 5)), [
        topic,
        "0",
        "11",
        "22",
        "11",
      ]);
      await shot(page, "group-lagging");
      // Kafka's rule: no reset while the group has active members
      await page.selectOption("#reset-offsets select[name=to]", "earliest");
      await page.click("#reset-offsets button[type=submit]");
      await page.locator("#reset-message.error", { hasText: "1 active member(s)" }).waitFor();
    });

    await t.step("consumed to the end: the page's lag falls to 0", async () => {
      await consumeTo(22);
      await until("lag 0", lagText, (v) => v === "0", 20_000);
      await page.waitForTimeout(2500); // one more poll: the chart has the fall
      await shot(page, "group-caught-up");
      await withTimeout(consumer!.close(), 30_000, "consumer close");
      consumer = undefined;
      await until(
        "Empty",
        () => page.locator("[data-stat=state] b").textContent(),
        (v) => v === "Empty",
      );
    });

    await t.step("reset offsets in the browser, checked over the Kafka protocol", async () => {
      await page.selectOption("#reset-offsets select[name=to]", "offset");
      await page.fill("#reset-offsets input[name=value]", "5");
      await page.click("#reset-offsets button[type=submit]");
      await page.locator("#reset-message.ok", { hasText: "0→5" }).waitFor();
      const committed = await admin.listConsumerGroupOffsets(group);
      assertEquals(committed.map((o) => [o.topic, o.partition, o.offset]), [[topic, 0, 5]]);
      await until("lag 17", lagText, (v) => v === "17");
      await page.selectOption("#reset-offsets select[name=to]", "latest");
      await page.click("#reset-offsets button[type=submit]");
      await page.locator("#reset-message.ok", { hasText: "0→22" }).waitFor();
      assertEquals(
        (await admin.listConsumerGroupOffsets(group)).map((o) => o.offset),
        [22],
      );
    });

    await t.step("alter a config and add partitions in the browser", async () => {
      await page.goto(`${base}#/topics/${topic}`);
      await page.click("button[data-tab=configs]");
      await page.fill("input[data-config='retention.ms']", "7200000");
      await page.click("tr[data-config-row='retention.ms'] button[data-action=save]");
      await page.locator(".message.ok", { hasText: "Set retention.ms=7200000" }).waitFor();
      const [d] = await admin.describeConfigs([{ type: "topic", name: topic }]);
      const entry = d.entries.find((e) => e.name === "retention.ms")!;
      assertEquals([entry.value, entry.source], ["7200000", "DYNAMIC_TOPIC_CONFIG"]);
      await page.fill("input[data-config='retention.ms']", "soon");
      await page.click("tr[data-config-row='retention.ms'] button[data-action=save]");
      await page.locator(".message.error", { hasText: '"soon" for config retention.ms' }).waitFor();
      await page.click("button[data-tab=actions]");
      await page.fill("#add-partitions input[name=count]", "3");
      await page.click("#add-partitions button[type=submit]");
      await page.locator("#action-message.ok", { hasText: "now has 3 partitions" }).waitFor();
      assertEquals((await admin.describeTopics([topic]))[0].partitions.length, 3);
      await page.click("button[data-tab=partitions]");
      await until(
        "3 partitions",
        () => page.locator("#partitions tbody tr").count(),
        (n) => n === 3,
      );
      await shot(page, "topic");
    });

    await t.step("the overview's rate charts under load, for the README", async () => {
      await page.goto(`${base}#/topics`);
      await page.locator(`#topics tr[data-topic='${topic}']`).waitFor();
      await shot(page, "topics");
      await page.goto(base);
      // a few seconds of traffic: a producer and a group reading it (bounded: 16 rounds)
      const producer = new Producer(client);
      const readers = new GroupConsumer(client, {
        groupId: "browser-readers",
        autoOffsetReset: "earliest",
        maxWaitMs: 100,
      });
      readers.subscribe([topic]);
      try {
        for (let i = 0; i < 16; i++) {
          await producer.send({
            topic,
            messages: Array.from({ length: 50 * (1 + (i % 4)) }, (_, j) => ({
              partition: j % 3,
              key: `load-${i}-${j}`,
              value: JSON.stringify({ round: i, j, pad: "x".repeat(200) }),
            })),
          });
          await readers.poll();
          await new Promise((r) => setTimeout(r, 300));
        }
      } finally {
        await producer.close();
        await withTimeout(readers.close(), 30_000, "readers close");
      }
      const rate = await page.evaluate(() =>
        fetch("api/v1/rates").then((r) => r.json()).then((r) => r.total.messagesIn)
      );
      assertEquals(rate, 22 + 50 * (1 + 2 + 3 + 4) * 4);
      await page.waitForTimeout(2500); // one more poll of the page
      await shot(page, "cluster");
    });

    await t.step("delete a topic in the browser", async () => {
      await page.goto(`${base}#/topics/${topic}`);
      await page.click("button[data-tab=actions]");
      await page.fill("#delete-topic input[name=confirm]", "wrong");
      await page.click("#delete-topic button[type=submit]");
      await page.locator("#action-message.error", { hasText: "Type the topic's name" }).waitFor();
      ok((await admin.listTopics()).includes(topic));
      await page.fill("#delete-topic input[name=confirm]", topic);
      await page.click("#delete-topic button[type=submit]");
      await page.waitForURL(/#\/topics$/);
      assertEquals((await admin.listTopics()).includes(topic), false);
      await page.goto(`${base}#/topics/${topic}`);
      await page.locator("#view-error", { hasText: `Topic ${topic} does not exist` }).waitFor();
    });
    await consumer?.close();
    assertEquals(errors, []);
  } finally {
    await browser.close();
    await client.close();
    await b.close();
  }
});
