// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The low-level Topology API (addSource, addProcessor, addSink, addStateStore,
// connectProcessorAndStateStores, describe) under the test driver: processing, forwarding to
// one child, stores shared between processors, changelogs and their restore, punctuation,
// per-source extractors, and the errors Kafka's TopologyException reports.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  type Processor,
  type ProcessorContext,
  PunctuationType,
  Serdes,
  Stores,
  Topology,
  TopologyTestDriver,
} from "./mod.ts";

const S = Serdes.String();
const L = Serdes.Int64();
const defaults = { defaultKeySerde: S, defaultValueSerde: S };

/** Counts words into `Counts`; every 1000 ms of stream time forwards all counts. */
function wordCount(): Processor<string | null, string, string, number> {
  let ctx: ProcessorContext<string, number>;
  return {
    init(c) {
      ctx = c;
      c.schedule(1000, PunctuationType.STREAM_TIME, (t) => {
        for (const [k, v] of ctx.getStateStore<string, number>("Counts").all()) {
          ctx.forward({ key: k, value: v, timestamp: t });
        }
      });
    },
    process(record) {
      const counts = ctx.getStateStore<string, number>("Counts");
      for (const w of record.value.toLowerCase().split(" ")) {
        counts.put(w, (counts.get(w) ?? 0) + 1);
      }
    },
  };
}

function wordCountTopology(): Topology {
  return new Topology()
    .addSource("Source", "lines")
    .addProcessor("Process", wordCount, "Source")
    .addStateStore(
      Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("Counts"), S, L),
      "Process",
    )
    .addSink({ name: "Sink", valueSerde: L }, "counts", "Process");
}

Deno.test("Topology: Kafka's WordCountProcessorDemo built node by node runs under the test driver; describe shows it", () => {
  const topology = wordCountTopology();
  assertEquals(
    topology.describe(),
    [
      "Topologies:",
      "   Sub-topology: 0",
      "    Source (topics: [lines]) --> Process",
      "    Process (stores: [Counts]) --> Sink",
      "    Sink (topic: counts)",
    ].join("\n"),
  );
  const d = new TopologyTestDriver(topology, defaults);
  const lines = d.createInputTopic("lines", S, S);
  lines.pipeInput(null, "a b a", 0);
  lines.pipeInput(null, "b c", 500);
  lines.pipeInput(null, "c", 1200);
  assertEquals(
    d.createOutputTopic("counts", S, L).readRecordsToList().map((r) =>
      `${r.key}=${r.value}@${r.timestamp}`
    ),
    ["a=2@0", "b=1@0", "a=2@1200", "b=2@1200", "c=2@1200"],
  );
});

Deno.test("Topology: store changelogs are written at commit and a new driver restores them", async () => {
  const d = new TopologyTestDriver(wordCountTopology(), { ...defaults, applicationId: "wc" });
  d.createInputTopic("lines", S, S).pipeInput(null, "x y x", 0);
  await d.commit();
  const changelogs = d.changelogs();
  assertEquals([...changelogs.keys()], ["wc-Counts-changelog"]);
  assertEquals(
    changelogs.get("wc-Counts-changelog")!.map((r) =>
      `${S.deserialize(r.key)}=${L.deserialize(r.value)}`
    ),
    ["x=2", "y=1"],
  );
  d.close();
  const again = await TopologyTestDriver.create(wordCountTopology(), {
    ...defaults,
    applicationId: "wc",
    changelogs,
  });
  again.createInputTopic("lines", S, S).pipeInput(null, "x", 5);
  assertEquals(again.getKeyValueStore<string, number>("Counts").get("x"), 3);
  assertEquals(again.getKeyValueStore<string, number>("Counts").get("y"), 1);
});

Deno.test("Topology: two sources and processors share a store (one sub-topology); forward to one child by name; a supplier's stores(); per-source serdes and extractor", () => {
  const topology = new Topology()
    .addSource(
      { name: "Orders", valueSerde: L, timestampExtractor: (r) => Number(r.value) },
      "orders",
    )
    .addSource("Names", "names")
    .addProcessor("Names-Proc", () => {
      let ctx: ProcessorContext<never, never>;
      return {
        init: (c) => void (ctx = c),
        process: (r: { key: string; value: string }) =>
          ctx.getStateStore<string, string>("names").put(r.key, r.value),
      };
    }, "Names")
    .addProcessor("Orders-Proc", {
      get: () => {
        let ctx: ProcessorContext<string, string>;
        return {
          init: (c) => void (ctx = c),
          process(r: { key: string; value: number; timestamp: number }) {
            const name = ctx.getStateStore<string, string>("names").get(r.key);
            const seq = ctx.getStateStore<string, number>("seq");
            const n = (seq.get(r.key) ?? 0) + 1;
            seq.put(r.key, n);
            const out = {
              key: r.key,
              value: `${name ?? "?"}#${n}:${r.value}`,
              timestamp: r.timestamp,
            };
            ctx.forward(out, name === undefined ? "Unknown" : "Known");
          },
        };
      },
      stores: () => [Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("seq"), S, L)],
    }, "Orders")
    .addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("names"), S, S))
    .connectProcessorAndStateStores("Names-Proc", "names")
    .connectProcessorAndStateStores("Orders-Proc", "names")
    .addSink("Known", "known", "Orders-Proc")
    .addSink("Unknown", "unknown", "Orders-Proc");
  const text = topology.describe();
  assert(!text.includes("Sub-topology: 1"), text);
  assert(text.includes("Orders-Proc (stores: [seq, names]) --> Known, Unknown"), text);
  const d = new TopologyTestDriver(topology, defaults);
  const orders = d.createInputTopic("orders", S, L);
  const names = d.createInputTopic("names", S, S);
  orders.pipeInput("u1", 100, 1);
  names.pipeInput("u1", "ann", 2);
  orders.pipeInput("u1", 250, 3);
  orders.pipeInput("u2", 300, 4);
  const read = (t: string) =>
    d.createOutputTopic(t, S, S).readRecordsToList().map((r) =>
      `${r.key}=${r.value}@${r.timestamp}`
    );
  assertEquals(read("known"), ["u1=ann#2:250@250"]);
  assertEquals(read("unknown"), ["u1=?#1:100@100", "u2=?#1:300@300"]);
});

Deno.test("Topology: errors as Kafka's TopologyException reports them", () => {
  const proc = () => ({ process() {} });
  const t = new Topology().addSource("S", "in").addProcessor("P", proc, "S").addSink(
    "K",
    "out",
    "P",
  );
  assert.throws(() => t.addSource("S", "other"), /a processor named S already exists/);
  assert.throws(() => t.addSource("S2", "in"), /topic in is already read by S/);
  assert.throws(() => t.addSource("S3"), /S3: give one or more topic names/);
  assert.throws(() => t.addProcessor("Q", proc), /Q must have at least one parent/);
  assert.throws(() => t.addProcessor("Q", proc, "nope"), /addProcessor: no node named nope/);
  assert.throws(() => t.addProcessor("Q", proc, "K"), /sink K cannot be a parent/);
  assert.throws(() => t.addSink("K2", "x", "K2"), /K2 cannot be its own parent/);
  assert.throws(() => t.addSink("", "x", "P"), /a node name is a non-empty string/);
  assert.throws(
    () => t.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("st")), "S"),
    /addStateStore: S is not a processor/,
  );
  assert.throws(
    () => t.connectProcessorAndStateStores("P", "missing"),
    /no store named missing \(add it with addStateStore first\)/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => t.addProcessor("Q", 5 as any, "P"),
    /give a processor supplier/,
  );
  // The failed calls added nothing.
  assertEquals(
    t.describe(),
    "Topologies:\n   Sub-topology: 0\n    S (topics: [in]) --> P\n    P --> K\n    K (topic: out)",
  );
  // A processor without the store connected cannot get it.
  const u = new Topology()
    .addSource("S", "in")
    .addProcessor("P", () => {
      let ctx: ProcessorContext<never, never>;
      return { init: (c) => void (ctx = c), process: () => ctx.getStateStore("st") };
    }, "S")
    .addProcessor("Other", proc, "S")
    .addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("st")), "Other");
  const d = new TopologyTestDriver(u, defaults);
  assert.throws(
    () => d.createInputTopic("in", S, S).pipeInput("k", "v"),
    /processor P: store st is not connected to it/,
  );
});
