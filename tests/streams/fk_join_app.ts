// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The foreign-key join scenario (`fk_orders.ts`) as a process, for the kill test: runs one
 * Streams instance and reports on stdout, one JSON object a line: `{"kind":"ready"}` once
 * running, `{"kind":"metrics","processed":n}` every 200 ms, `{"kind":"fatal","detail":...}` if
 * processing stopped. SIGTERM closes it.
 *
 * Usage: `deno run -A tests/streams/fk_join_app.ts <config json>` with `bootstrap`, `orders`,
 * `customers`, `innerOut`, `leftOut`, `applicationId`, `stateDir`, `guarantee`.
 *
 * @module
 */

import { KafkaStreams, type ProcessingGuarantee, Serdes } from "../../streams/mod.ts";
import { fatal, startAndReport } from "./app_events.ts";
import { topology } from "./fk_orders.ts";

const config = JSON.parse(Deno.args[0]) as {
  bootstrap: string;
  orders: string;
  customers: string;
  innerOut: string;
  leftOut: string;
  applicationId: string;
  stateDir: string;
  guarantee: ProcessingGuarantee;
};

const streams = new KafkaStreams(
  topology(config.orders, config.customers, config.innerOut, config.leftOut),
  {
    applicationId: config.applicationId,
    bootstrapServers: config.bootstrap,
    processingGuarantee: config.guarantee,
    groupInstanceId: "instance-1",
    stateDir: config.stateDir,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    rebalanceTimeoutMs: 20_000,
    commitIntervalMs: 100,
    defaultKeySerde: Serdes.String(),
    defaultValueSerde: Serdes.String(),
    onError: fatal,
  },
);

Deno.addSignalListener("SIGTERM", async () => {
  await streams.close();
  Deno.exit(0);
});

await startAndReport(streams, () => ({ processed: streams.metrics().processed }), 200);
