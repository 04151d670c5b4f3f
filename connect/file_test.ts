// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { startStandalone } from "./runtime.ts";
import { openConnectTestEnv } from "./testing.ts";

const MIB = 1024 * 1024;
const SIZE = Number(Deno.env.get("SLUICE_CONNECT_FILE_MIB") ?? 20) * MIB;

/** Lines of varied length: empty ones, ASCII, multi-byte UTF-8 (2, 3 and 4 bytes). */
function makeLines(bytes: number): Uint8Array {
  const words = ["", "teste", "Grüße", "日本語のテキスト", "emoji 🎉🚀", "a".repeat(300), "x y z"];
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = i % 11 === 0
      ? ""
      : `${i} ${words[i % words.length]} ${words[(i * 7) % words.length]}`;
    parts.push(line);
    size += new TextEncoder().encode(line).length + 1;
  }
  return new TextEncoder().encode(parts.join("\n") + "\n");
}

async function waitForSize(path: string, size: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await Deno.stat(path).then((s) => s.size).catch(() => 0);
    if (s >= size) return;
    if (Date.now() > deadline) {
      throw new Error(`${path}: ${s} of ${size} bytes after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The quickstart's `connect-standalone.properties`. */
const QUICKSTART_WORKER = {
  "key.converter": "org.apache.kafka.connect.json.JsonConverter",
  "value.converter": "org.apache.kafka.connect.json.JsonConverter",
  "key.converter.schemas.enable": "true",
  "value.converter.schemas.enable": "true",
  "offset.flush.interval.ms": "1000",
};

Deno.test("connect file quickstart: a file into a topic and back out byte-identical, across a worker restart", async () => {
  await using env = await openConnectTestEnv("sluice_connect_file_");
  const dir = env.dir;
  const input = makeLines(SIZE);
  await Deno.writeFile(`${dir}/in.txt`, input);
  const connectors: Record<string, string>[] = [
    {
      name: "local-file-source",
      "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
      "tasks.max": "1",
      file: `${dir}/in.txt`,
      topic: "connect-test",
    },
    {
      name: "local-file-sink",
      "connector.class": "FileStreamSink",
      "tasks.max": "1",
      file: `${dir}/out.txt`,
      topics: "connect-test",
    },
  ];
  let rt = await startStandalone({ worker: env.worker(QUICKSTART_WORKER), connectors });
  // Stop the worker part way: what was read but not stored is read again, nothing twice.
  await waitForSize(`${dir}/out.txt`, Math.floor(input.length / 3), 300_000);
  await rt.stop();
  const partial = (await Deno.stat(`${dir}/out.txt`)).size;
  rt = await startStandalone({ worker: env.worker(QUICKSTART_WORKER), connectors });
  try {
    await waitForSize(`${dir}/out.txt`, input.length, 300_000);
    // Let anything extra (a duplicate) arrive before comparing.
    await new Promise((r) => setTimeout(r, 2000));
    const output = await Deno.readFile(`${dir}/out.txt`);
    assertEquals(output.length, input.length, `output size (partial at restart: ${partial})`);
    assertEquals(output.findIndex((b, i) => b !== input[i]), -1);
  } finally {
    await rt.stop();
  }
});
