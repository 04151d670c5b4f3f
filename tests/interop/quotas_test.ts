// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Client quotas against librdkafka (confluent-kafka 1.7.0 on librdkafka 2.0.2, through
// clients/quota_client.py): a producer and a consumer over their byte-rate quotas see the
// broker's throttle_time_ms (throttle_cb) and their achieved rate stays near the quota; a client
// under its quota is never throttled. Rates are asserted as generous ratios over several
// seconds, never as timings. The broker uses 3 samples of 1 s (`quota.window.num=3`): with
// Kafka's 11 a client may send 10 s worth of its quota before the first throttle, which a test
// of a few seconds could not tell from no quota at all.

import { ok } from "node:assert/strict";
import { Admin, Client, Producer } from "../../client/mod.ts";
import {
  interopTest,
  requireClient,
  runClientScript,
  sharedBroker,
  uniqueTopic,
} from "../harness.ts";

const client = requireClient("confluent-kafka");
const broker = sharedBroker({ quotaWindowNum: 3, quotaWindowSizeSeconds: 1 });

interface ProduceReport {
  elapsed: number;
  acked_bytes: number;
  acked_messages: number;
  throttles: number[];
}

interface ConsumeReport {
  elapsed: number;
  bytes: number;
  throttles: number[];
}

async function setQuota(bootstrap: string, clientId: string, key: string, value: number) {
  const c = new Client({ bootstrapServers: bootstrap });
  try {
    const [r] = await new Admin(c).alterClientQuotas([
      { entity: { "client-id": clientId }, ops: { [key]: value } },
    ]);
    if (r.errorCode !== 0) throw new Error(`alter quota: ${r.errorMessage}`);
  } finally {
    c.close();
  }
}

interopTest(
  client,
  "a producer over producer_byte_rate is throttled to near its quota",
  async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic("quota-produce");
    const quota = 50_000;
    await setQuota(bootstrap, "slow-producer", "producer_byte_rate", quota);
    const r = await runClientScript<ProduceReport>("quota_client.py", "produce", {
      bootstrap,
      topic,
      client_id: "slow-producer",
      seconds: 5,
      size: 1000,
    }, 60_000);
    ok(r.throttles.length > 0 && r.throttles.some((t) => t > 0), JSON.stringify(r.throttles));
    const rate = r.acked_bytes / r.elapsed;
    // the request bytes counted include headers; the record bytes stay below them
    ok(rate <= 2 * quota, `achieved ${Math.round(rate)} B/s with a quota of ${quota} B/s`);
    ok(rate >= 0.1 * quota, `achieved ${Math.round(rate)} B/s: the producer made no progress`);
  },
);

interopTest(
  client,
  "a consumer over consumer_byte_rate is throttled to near its quota",
  async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic("quota-consume");
    // 2 MB written without a quota
    const c = new Client({ bootstrapServers: bootstrap });
    try {
      await new Admin(c).createTopics([{ name: topic, numPartitions: 1 }]);
      const p = new Producer(c, { lingerMs: 5 });
      const value = "y".repeat(1000);
      for (let i = 0; i < 20; i++) {
        await p.send({ topic, messages: Array.from({ length: 100 }, () => ({ value })) });
      }
      await p.close();
    } finally {
      c.close();
    }
    const quota = 100_000;
    await setQuota(bootstrap, "slow-consumer", "consumer_byte_rate", quota);
    const r = await runClientScript<ConsumeReport>("quota_client.py", "consume", {
      bootstrap,
      topic,
      client_id: "slow-consumer",
      seconds: 5,
    }, 60_000);
    ok(r.throttles.some((t) => t > 0), JSON.stringify(r.throttles));
    const rate = r.bytes / r.elapsed;
    ok(rate <= 2 * quota, `consumed ${Math.round(rate)} B/s with a quota of ${quota} B/s`);
    ok(rate >= 0.1 * quota, `consumed ${Math.round(rate)} B/s: the consumer made no progress`);
  },
);

interopTest(client, "a producer under its quota is never throttled", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("quota-under");
  await setQuota(bootstrap, "fast-producer", "producer_byte_rate", 1_000_000_000);
  const r = await runClientScript<ProduceReport>("quota_client.py", "produce", {
    bootstrap,
    topic,
    client_id: "fast-producer",
    seconds: 3,
    size: 1000,
  }, 60_000);
  ok(r.acked_messages > 0, JSON.stringify(r));
  ok(r.throttles.every((t) => t === 0), JSON.stringify(r.throttles));
});
