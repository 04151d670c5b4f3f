// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A count-by-key Streams instance as a process, for the standby failover test
 * (`streams/standby_test.ts`): the instance that is SIGKILLed. Reports on stdout, one JSON object
 * a line: `{"kind":"ready"}` once running, `{"kind":"metrics",...}` every 100 ms,
 * `{"kind":"fatal","detail":...}` if processing stopped.
 *
 * Usage: `deno run -A tests/streams/standby_app.ts <config json>` with `bootstrap`, `input`,
 * `output`, `applicationId`, `stateDir`, `applicationServer`, `persistent`, `guarantee`.
 *
 * @module
 */

import { KafkaStreams, type ProcessingGuarantee, Serdes } from "../../streams/mod.ts";
import { fatal, startAndReport } from "./app_events.ts";
import { countByKey, STANDBY_TEST_TIMEOUTS } from "./standby_topology.ts";

const config = JSON.parse(Deno.args[0]) as {
  bootstrap: string;
  input: string;
  output: string;
  applicationId: string;
  stateDir: string;
  applicationServer: string;
  persistent: boolean;
  guarantee: ProcessingGuarantee;
};

const streams = new KafkaStreams(countByKey(config.input, config.output, config.persistent), {
  applicationId: config.applicationId,
  bootstrapServers: config.bootstrap,
  processingGuarantee: config.guarantee,
  stateDir: config.stateDir,
  applicationServer: config.applicationServer,
  numStandbyReplicas: 1,
  ...STANDBY_TEST_TIMEOUTS,
  defaultKeySerde: Serdes.String(),
  defaultValueSerde: Serdes.String(),
  onError: fatal,
});

await startAndReport(streams, () => ({ ...streams.metrics() }), 100);
