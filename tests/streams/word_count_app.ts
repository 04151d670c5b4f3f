// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The WordCountDemo as a process, for the kill tests: runs one Streams instance and reports on
 * stdout, one JSON object a line: `{"kind":"ready"}` once running, `{"kind":"metrics",...}`
 * twice a second, `{"kind":"fatal","detail":...}` if processing stopped. SIGTERM closes it.
 *
 * Usage: `deno run -A tests/streams/word_count_app.ts <config json>` with `bootstrap`, `input`,
 * `output`, `applicationId`, `stateDir`, `instanceId`, `guarantee`, `persistent`.
 *
 * @module
 */

import {
  KafkaStreams,
  type ProcessingGuarantee,
  Serdes,
  StreamsBuilder,
} from "../../streams/mod.ts";
import { fatal, startAndReport } from "./app_events.ts";
import { words } from "../../streams/testing.ts";

const config = JSON.parse(Deno.args[0]) as {
  bootstrap: string;
  input: string;
  output: string;
  applicationId: string;
  stateDir: string;
  instanceId: string;
  guarantee: ProcessingGuarantee;
  persistent: boolean;
};

const builder = new StreamsBuilder();
builder.stream<string, string>(config.input)
  .flatMapValues((line) => words(line))
  .groupBy((_key, word) => word)
  .count({ storeName: "counts-store", persistent: config.persistent })
  .toStream()
  .to(config.output, { valueSerde: Serdes.Int64() });

const streams = new KafkaStreams(builder.build(), {
  applicationId: config.applicationId,
  bootstrapServers: config.bootstrap,
  processingGuarantee: config.guarantee,
  groupInstanceId: config.instanceId,
  stateDir: config.stateDir,
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  rebalanceTimeoutMs: 20_000,
  defaultKeySerde: Serdes.String(),
  defaultValueSerde: Serdes.String(),
  onError: fatal,
});

Deno.addSignalListener("SIGTERM", async () => {
  await streams.close();
  Deno.exit(0);
});

await startAndReport(streams, () => ({ ...streams.metrics() }), 500);
