// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type Client, Consumer, Producer } from "../client/mod.ts";
import { uniqueTopic } from "../tests/harness.ts";
import { type ConnectRuntime, startStandalone } from "./runtime.ts";
import { openConnectTestEnv, until } from "./testing.ts";

interface Reply {
  status: number;
  body: unknown;
}

/** One call with curl, as people script the API. */
async function curl(method: string, url: string, body?: unknown): Promise<Reply> {
  const args = ["-s", "-X", method, "-w", "\n%{http_code}", url];
  if (body !== undefined) {
    args.push(
      "-H",
      "Content-Type: application/json",
      "--data-binary",
      typeof body === "string" ? body : JSON.stringify(body),
    );
  }
  const out = await new Deno.Command("curl", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`curl ${method} ${url}: ${new TextDecoder().decode(out.stderr)}`);
  }
  const text = new TextDecoder().decode(out.stdout);
  const nl = text.lastIndexOf("\n");
  const raw = text.slice(0, nl);
  return { status: Number(text.slice(nl + 1)), body: raw === "" ? null : JSON.parse(raw) };
}

const readText = (path: string) => Deno.readTextFile(path).catch(() => "");
const appendLines = (path: string, lines: string[]) =>
  Deno.writeTextFile(path, lines.map((l) => l + "\n").join(""), { append: true });

async function withWorker(
  f: (rt: ConnectRuntime, client: Client, dir: string) => Promise<void>,
): Promise<void> {
  await using env = await openConnectTestEnv("sluice_connect_rest_");
  const rt = await startStandalone({
    worker: env.worker({
      "key.converter": "org.apache.kafka.connect.storage.StringConverter",
      "value.converter": "org.apache.kafka.connect.storage.StringConverter",
      "offset.flush.interval.ms": "500",
    }),
  });
  try {
    await f(rt, env.client, env.dir);
  } finally {
    await rt.stop();
  }
}

Deno.test("connect REST API driven by curl: create, status, pause/resume, restart, tasks, config update, delete, errors", async () => {
  await withWorker(async (rt, _broker, dir) => {
    const api = rt.url;
    const topic = uniqueTopic("rest");
    await Deno.writeTextFile(`${dir}/in.txt`, "");

    const root = await curl("GET", `${api}/`);
    assertEquals(root.status, 200);
    assert(typeof (root.body as { version: string }).version === "string");
    const plugins = await curl("GET", `${api}/connector-plugins`);
    assert(
      (plugins.body as Array<{ class: string; type: string }>).some((p) =>
        p.class === "org.apache.kafka.connect.file.FileStreamSourceConnector" && p.type === "source"
      ),
    );

    const sourceConfig = {
      "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
      "tasks.max": "1",
      file: `${dir}/in.txt`,
      topic: `${topic}-raw`,
      transforms: "route",
      "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
      "transforms.route.regex": "(.*)-raw",
      "transforms.route.replacement": "$1",
    };
    const created = await curl("POST", `${api}/connectors`, { name: "src", config: sourceConfig });
    assertEquals(created.status, 201);
    assertEquals(created.body, {
      name: "src",
      config: { ...sourceConfig, name: "src" },
      tasks: [{ connector: "src", task: 0 }],
      type: "source",
    });
    // Errors, as Kafka Connect's JSON.
    assertEquals(await curl("POST", `${api}/connectors`, { name: "src", config: sourceConfig }), {
      status: 409,
      body: { error_code: 409, message: "Connector src already exists" },
    });
    assertEquals(await curl("GET", `${api}/connectors/nope/status`), {
      status: 404,
      body: { error_code: 404, message: "Connector nope not found" },
    });
    const invalid = await curl("POST", `${api}/connectors`, {
      name: "bad",
      config: { topic: "x" },
    });
    assertEquals(invalid.status, 400);
    assertEquals((invalid.body as { error_code: number }).error_code, 400);
    assert(/connector\.class/.test((invalid.body as { message: string }).message));
    const unknownClass = await curl("PUT", `${api}/connectors/bad/config`, {
      "connector.class": "com.example.Nope",
    });
    assertEquals(unknownClass.status, 400);
    assert(
      /com\.example\.Nope could not be found/.test(
        (unknownClass.body as { message: string }).message,
      ),
    );
    assertEquals((await curl("POST", `${api}/connectors`, "{not json")).status, 400);
    // The connector's own checks of settings that go together.
    const combo = await curl("POST", `${api}/connectors`, {
      name: "pg",
      config: {
        "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
        "connection.url": "jdbc:postgresql://127.0.0.1:1/db",
        topics: "t",
        "insert.mode": "upsert",
      },
    });
    assertEquals(combo.status, 400);
    assert(/insert\.mode=upsert needs pk\.mode/.test((combo.body as { message: string }).message));
    assertEquals((await curl("GET", `${api}/connectors`)).body, ["src"]);

    const sinkConfig = {
      "connector.class": "FileStreamSink",
      "tasks.max": "1",
      file: `${dir}/out.txt`,
      topics: topic,
    };
    const put = await curl("PUT", `${api}/connectors/sink/config`, sinkConfig);
    assertEquals(put.status, 201);
    assertEquals(await curl("GET", `${api}/connectors/sink/config`), {
      status: 200,
      body: { ...sinkConfig, name: "sink" },
    });
    assertEquals((await curl("GET", `${api}/connectors`)).body, ["sink", "src"]);

    await appendLines(`${dir}/in.txt`, ["a1", "a2"]);
    await until(
      "a1 a2 in out.txt",
      async () => (await readText(`${dir}/out.txt`)) === "a1\na2\n" ? true : undefined,
    );
    const status = await until("both RUNNING", async () => {
      const s = await curl("GET", `${api}/connectors/sink/status`);
      const b = s.body as { connector: { state: string }; tasks: Array<{ state: string }> };
      return b.connector.state === "RUNNING" && b.tasks[0]?.state === "RUNNING" ? b : undefined;
    });
    assertEquals(status, {
      name: "sink",
      connector: { state: "RUNNING", worker_id: rt.herder.workerId },
      tasks: [{ id: 0, state: "RUNNING", worker_id: rt.herder.workerId }],
      type: "sink",
    });

    // Pause the sink: records stop reaching the file; resume: they arrive.
    assertEquals(await curl("PUT", `${api}/connectors/sink/pause`), { status: 202, body: null });
    const paused = (await curl("GET", `${api}/connectors/sink/status`)).body as {
      connector: { state: string };
      tasks: Array<{ state: string }>;
    };
    assertEquals([paused.connector.state, paused.tasks[0].state], ["PAUSED", "PAUSED"]);
    await appendLines(`${dir}/in.txt`, ["b1"]);
    await new Promise((r) => setTimeout(r, 3000));
    assertEquals(await readText(`${dir}/out.txt`), "a1\na2\n");
    assertEquals(await curl("PUT", `${api}/connectors/sink/resume`), { status: 202, body: null });
    await until(
      "b1 after resume",
      async () => (await readText(`${dir}/out.txt`)) === "a1\na2\nb1\n" ? true : undefined,
    );

    // Pause the source: lines stay in the file until resumed.
    assertEquals((await curl("PUT", `${api}/connectors/src/pause`)).status, 202);
    await appendLines(`${dir}/in.txt`, ["c1"]);
    await new Promise((r) => setTimeout(r, 3000));
    assertEquals(await readText(`${dir}/out.txt`), "a1\na2\nb1\n");
    assertEquals((await curl("PUT", `${api}/connectors/src/resume`)).status, 202);
    await until(
      "c1 after resume",
      async () => (await readText(`${dir}/out.txt`)) === "a1\na2\nb1\nc1\n" ? true : undefined,
    );

    // Restarts.
    assertEquals(await curl("POST", `${api}/connectors/src/restart`), { status: 204, body: null });
    const restarted = await curl("POST", `${api}/connectors/src/restart?includeTasks=true`);
    assertEquals(restarted.status, 202);
    assertEquals((restarted.body as { name: string }).name, "src");
    assertEquals((await curl("POST", `${api}/connectors/src/tasks/0/restart`)).status, 204);
    assertEquals((await curl("POST", `${api}/connectors/src/tasks/7/restart`)).status, 404);
    await appendLines(`${dir}/in.txt`, ["d1"]);
    await until(
      "d1 after restarts, once",
      async () => (await readText(`${dir}/out.txt`)) === "a1\na2\nb1\nc1\nd1\n" ? true : undefined,
    );

    const tasks = await curl("GET", `${api}/connectors/src/tasks`);
    assertEquals(tasks.body, [{
      id: { connector: "src", task: 0 },
      config: {
        topic: `${topic}-raw`,
        "batch.size": "2000",
        file: `${dir}/in.txt`,
        "task.class": "FileStreamSourceTask",
      },
    }]);

    // Config update: the sink now writes another file.
    const updated = await curl("PUT", `${api}/connectors/sink/config`, {
      ...sinkConfig,
      file: `${dir}/out2.txt`,
    });
    assertEquals(updated.status, 200);
    await appendLines(`${dir}/in.txt`, ["e1"]);
    await until(
      "e1 in out2.txt",
      async () => (await readText(`${dir}/out2.txt`)) === "e1\n" ? true : undefined,
    );

    assertEquals(await curl("DELETE", `${api}/connectors/src`), { status: 204, body: null });
    assertEquals((await curl("GET", `${api}/connectors`)).body, ["sink"]);
    assertEquals((await curl("GET", `${api}/connectors/src`)).status, 404);
    assertEquals((await curl("DELETE", `${api}/connectors/src`)).status, 404);
    assertEquals((await curl("GET", `${api}/nothing`)).status, 404);
  });
});

Deno.test("connect: a sink with InsertField, MaskField and ReplaceField writes exact transformed records", async () => {
  await withWorker(async (rt, client, dir) => {
    const topic = uniqueTopic("smt");
    const producer = new Producer(client);
    await producer.send({
      topic,
      messages: [
        { key: "1", value: JSON.stringify({ id: 1, ssn: "123", pw: "x", amt: 5 }), partition: 0 },
        { key: "2", value: JSON.stringify({ id: 2, ssn: "456", pw: "y", amt: 7 }), partition: 0 },
      ],
    });
    await producer.close();
    const res = await curl("POST", `${rt.url}/connectors`, {
      name: "smt-sink",
      config: {
        "connector.class": "FileStreamSink",
        file: `${dir}/smt.txt`,
        topics: topic,
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        transforms: "insert,mask,replace",
        "transforms.insert.type": "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.insert.topic.field": "topic",
        "transforms.insert.offset.field": "offset",
        "transforms.mask.type": "org.apache.kafka.connect.transforms.MaskField$Value",
        "transforms.mask.fields": "ssn",
        "transforms.replace.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
        "transforms.replace.exclude": "pw",
        "transforms.replace.renames": "amt:amount",
      },
    });
    assertEquals(res.status, 201);
    const expected = [
      { id: 1, ssn: "", amount: 5, topic, offset: 0 },
      { id: 2, ssn: "", amount: 7, topic, offset: 1 },
    ].map((o) => JSON.stringify(o) + "\n").join("");
    await until(
      "transformed records",
      async () => (await readText(`${dir}/smt.txt`)) === expected ? true : undefined,
    );

    // And on a source: RegexRouter renames the topic of exact records.
    await Deno.writeTextFile(`${dir}/src.txt`, "x\ny\n");
    await curl("POST", `${rt.url}/connectors`, {
      name: "smt-src",
      config: {
        "connector.class": "FileStreamSource",
        file: `${dir}/src.txt`,
        topic: `${topic}-in`,
        transforms: "r",
        "transforms.r.type": "RegexRouter",
        "transforms.r.regex": "(.*)-in",
        "transforms.r.replacement": "$1-routed",
      },
    });
    const consumer = new Consumer(client, { fromBeginning: true });
    await until("routed topic", async () => {
      try {
        await client.topic(`${topic}-routed`, { refresh: true });
        return true;
      } catch {
        return undefined;
      }
    });
    await consumer.assign([{ topic: `${topic}-routed`, partition: 0, offset: "earliest" }]);
    const got: Array<[string | null, string | null]> = [];
    await until("two routed records", async () => {
      for (const r of await consumer.poll({ maxWaitMs: 200 })) {
        got.push([
          r.key && new TextDecoder().decode(r.key),
          r.value && new TextDecoder().decode(r.value),
        ]);
      }
      return got.length >= 2 ? true : undefined;
    });
    assertEquals(got, [[null, "x"], [null, "y"]]);
    await consumer.close();
  });
});
