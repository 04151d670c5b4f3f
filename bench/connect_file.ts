// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The file quickstart's throughput: a MIB-MiB file of ~60-byte lines through FileStreamSource →
 * topic → FileStreamSink in one standalone worker, with StringConverter and with JsonConverter
 * (schemas enabled, as Kafka's quickstart), against an in-process broker; prints MiB/s and lines/s
 * of each and their ratio. The output is checked byte-identical.
 *
 * @example
 * ```sh
 * deno task bench:connect              # 50 MiB
 * deno task bench:connect --mib 10
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startBroker } from "../tests/harness.ts";
import { startStandalone } from "../connect/runtime.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { mib: { type: "string", default: "50" } },
});
const size = Number(values.mib) * 1024 * 1024;

const enc = new TextEncoder();
const parts: string[] = [];
let bytes = 0;
for (let i = 0; bytes < size; i++) {
  const line = `${i} ${"quick brown fox jumps over the lazy dog ".slice(0, 40 + (i % 20))}`;
  parts.push(line);
  bytes += enc.encode(line).length + 1;
}
const input = enc.encode(parts.join("\n") + "\n");

const broker = await startBroker();
const dir = await Deno.makeTempDir({ prefix: "sluice_bench_connect_" });
const results: Array<{ converter: string; seconds: number }> = [];
try {
  await Deno.writeFile(`${dir}/in.txt`, input);
  for (const converter of ["StringConverter", "JsonConverter"]) {
    const topic = `bench-${converter}`;
    const out = `${dir}/out-${converter}.txt`;
    const start = performance.now();
    const rt = await startStandalone({
      worker: {
        "bootstrap.servers": broker.bootstrap,
        "key.converter": converter,
        "value.converter": converter,
        "offset.storage.file.filename": `${dir}/offsets-${converter}`,
        "listeners": "http://127.0.0.1:0",
      },
      connectors: [
        { name: "src", "connector.class": "FileStreamSource", file: `${dir}/in.txt`, topic },
        { name: "sink", "connector.class": "FileStreamSink", file: out, topics: topic },
      ],
    });
    for (;;) {
      const s = await Deno.stat(out).then((s) => s.size).catch(() => 0);
      if (s >= input.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - start) / 1000;
    await rt.stop();
    const got = await Deno.readFile(out);
    if (got.length !== input.length || got.some((b, i) => b !== input[i])) {
      throw new Error(`${converter}: output differs from input`);
    }
    results.push({ converter, seconds });
    console.log(
      `${converter}: ${(input.length / 1048576).toFixed(1)} MiB, ${parts.length} lines in ` +
        `${seconds.toFixed(1)} s: ${(input.length / 1048576 / seconds).toFixed(1)} MiB/s, ` +
        `${Math.round(parts.length / seconds)} lines/s`,
    );
  }
  console.log(
    `JsonConverter / StringConverter throughput: ${
      (results[0].seconds / results[1].seconds).toFixed(2)
    }`,
  );
} finally {
  await broker.close();
  await Deno.remove(dir, { recursive: true });
}
