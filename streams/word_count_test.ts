// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Client } from "../client/mod.ts";
import { sharedBroker, uniqueTopic } from "../tests/harness.ts";
import { KafkaStreams, Serdes, StreamsBuilder } from "./mod.ts";
import {
  createTopics,
  eventually,
  latestByKey,
  lines,
  produceLines,
  sorted,
  wordCountModel,
  words,
} from "./testing.ts";

const broker = sharedBroker();

function wordCount(input: string, output: string, persistent = false) {
  const builder = new StreamsBuilder();
  builder.stream<string, string>(input)
    .flatMapValues((line) => words(line))
    .groupBy((_key, word) => word)
    .count({ storeName: "counts-store", persistent })
    .toStream()
    .to(output, { valueSerde: Serdes.Int64() });
  return builder.build();
}

const int64 = (b: Uint8Array | null) => Serdes.Int64().deserialize(b)!;

Deno.test("word count: the WordCountDemo's counts equal the model's, output and store", async () => {
  const { bootstrap } = await broker();
  const client = new Client({ bootstrapServers: bootstrap });
  const input = uniqueTopic("wc-in");
  const output = uniqueTopic("wc-out");
  const appId = uniqueTopic("wc-app");
  await createTopics(client, 3, input, output);
  const text = lines(1, 3000);
  const model = wordCountModel(text);
  await produceLines(client, input, text.slice(0, 1500));
  const streams = new KafkaStreams(wordCount(input, output), {
    applicationId: appId,
    bootstrapServers: bootstrap,
    defaultKeySerde: Serdes.String(),
    defaultValueSerde: Serdes.String(),
  });
  try {
    await streams.start();
    assertEquals(streams.state, "RUNNING");
    await produceLines(client, input, text.slice(1500));
    const total = text.length;
    await eventually(
      "every line processed",
      () => streams.metrics().processed >= total + [...model.values()].reduce((a, b) => a + b, 0),
    );
    const store = streams.store<string, number>("counts-store");
    assertEquals(store.all(), sorted(model));
    assertEquals(store.get("w1"), model.get("w1"));
    await streams.close();
    assertEquals(streams.state, "NOT_RUNNING");
    const out = await latestByKey(client, output, int64);
    assertEquals(sorted(out.values), sorted(model));
    const changelog = await latestByKey(client, `${appId}-counts-store-changelog`, int64);
    assertEquals(sorted(changelog.values), sorted(model));
  } finally {
    await streams.close();
    await client.close();
  }
});
