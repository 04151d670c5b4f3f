import assert from "node:assert/strict";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `sluice ARGS`; a run still going after 60 s is killed (a hang fails, never blocks). */
async function sluice(args: string[], stdin = ""): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const hang = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  clearTimeout(hang);
  const td = new TextDecoder();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

Deno.test("sluice rejects bad input with one line and a non-zero exit, no broker needed", async () => {
  const cases: Array<[string[], number, RegExp]> = [
    [["frobnicate"], 2, /^sluice frobnicate: unknown command "frobnicate"/],
    [["broker", "--bogus"], 2, /^sluice broker: Invalid arguments: unknown flag "--bogus"/],
    [
      ["broker", "/nonexistent/server.properties"],
      2,
      /^sluice broker: cannot read properties file/,
    ],
    [["broker", "--listeners", "http://x"], 2, /^sluice broker: Invalid listeners "http:\/\/x"/],
    [["topics", "--bogus"], 2, /^sluice topics: Unknown option '--bogus'/],
    [["topics", "--create"], 2, /^sluice topics: --create needs --topic/],
    [["topics", "--list", "--create"], 2, /exactly one of --create/],
    [
      ["topics", "--create", "--topic", "t", "--partitions", "zero"],
      2,
      /invalid --partitions "zero"/,
    ],
    [["produce"], 2, /^sluice produce: --topic is required/],
    [["produce", "--topic", "t", "--acks", "2"], 2, /invalid --acks "2"/],
    [["consume", "--topic", "t", "--offset", "5"], 2, /--offset needs --partition/],
    [["consume", "--topic", "t", "--max-messages", "-1"], 2, /invalid --max-messages "-1"/],
    [
      ["consume", "--topic", "t", "--bootstrap-server", "nohostport"],
      1,
      /invalid bootstrap server "nohostport"/,
    ],
  ];
  for (const [args, code, pattern] of cases) {
    const r = await sluice(args);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "", args.join(" "));
    assert.match(r.stderr, pattern, args.join(" "));
    assert.equal(r.stderr.split("\n").length, 2, `one line for ${args.join(" ")}: ${r.stderr}`);
  }
});

Deno.test("sluice topics against a closed port fails in one line with exit code 1", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const r = await sluice(["topics", "--bootstrap-server", `127.0.0.1:${port}`, "--list"]);
  assert.equal(r.code, 1);
  // issue #15: one clear line, not the client's NETWORK_EXCEPTION chain
  assert.equal(
    r.stderr,
    `sluice topics: cannot connect to 127.0.0.1:${port} (connection refused): is the broker ` +
      `running at 127.0.0.1:${port}?\n`,
  );
});

Deno.test("sluice --help and per-command help print usage", async () => {
  for (const cmd of ["topics", "produce", "consume", "broker"]) {
    const r = await sluice([cmd, "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^Usage: sluice ${cmd} `));
  }
  const top = await sluice(["--help"]);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^Usage: sluice COMMAND/);
});

Deno.test("sluice loads only the command it runs: deno.json's lazy-dynamic-imports", async () => {
  // Deno reads every module a dynamic import names before the program starts unless
  // "unstable": ["lazy-dynamic-imports"] is set (issue #17: 262 modules, ~50 ms, before
  // `sluice broker` ran a line). Deno's debug log names each module it reads.
  const modulesRead = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--log-level=debug", MAIN, ...args],
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(out.code, 0);
    const root = new URL("../", import.meta.url).href;
    const read = new Set<string>();
    // "FileFetcher::fetch_no_follow - specifier: file:///…" for each module read (resolving a
    // specifier, which reads nothing, is logged too, without "fetch")
    const text = new TextDecoder().decode(out.stderr);
    for (const m of text.matchAll(/fetch\w* - specifier: (file:\/\/\S+?\.ts)/g)) {
      if (m[1].startsWith(root)) read.add(m[1].slice(root.length));
    }
    return read;
  };
  const help = await modulesRead(["--help"]);
  assert.ok(help.has("cli/main.ts") && help.has("cli/io.ts"), [...help].join(" ")); // the log's form
  assert.deepEqual(
    [...help].filter((m) => !m.startsWith("cli/main") && m !== "cli/args.ts" && m !== "cli/io.ts"),
    [],
  );
  const broker = await modulesRead(["broker", "--help"]);
  assert.ok(broker.has("cli/broker.ts") && broker.has("server/broker.ts"), [...broker].join(" "));
  for (
    const other of ["cli/topics.ts", "cli/connect.ts", "client/mod.ts", "server/apis/produce.ts"]
  ) {
    assert.ok(!broker.has(other), `${other} read by sluice broker`);
  }
});

Deno.test("sluice broker serves clients and exits 0 on SIGINT", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cli_broker_" });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      MAIN,
      "broker",
      "--listeners",
      `PLAINTEXT://127.0.0.1:${port}`,
      "--log-dirs",
      dir,
      "--quiet",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    let listed: Run | undefined;
    for (let i = 0; i < 100; i++) {
      listed = await sluice(["topics", "--bootstrap-server", `127.0.0.1:${port}`, "--list"]);
      if (listed.code === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(listed, { code: 0, stdout: "", stderr: "" });
    child.kill("SIGINT");
    const status = await child.output();
    assert.equal(status.code, 0, new TextDecoder().decode(status.stderr));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sluice broker on a port in use fails in one line with exit code 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cli_busy_" });
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (busy.addr as Deno.NetAddr).port;
    const r = await sluice([
      "broker",
      "--listeners",
      `PLAINTEXT://127.0.0.1:${port}`,
      "--log-dirs",
      dir,
      "--quiet",
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`^sluice broker: Cannot listen on 127\\.0\\.0\\.1:${port}: `),
    );
    assert.equal(r.stderr.split("\n").length, 2);
  } finally {
    busy.close();
    await Deno.remove(dir, { recursive: true });
  }
});

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts `sluice broker ARGS` and waits until it answers on `port`. */
async function startBroker(args: string[], port: number): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, "broker", ...args],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    const r = await sluice(["topics", "--bootstrap-server", `127.0.0.1:${port}`, "--list"]);
    if (r.code === 0) return child;
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill("SIGKILL");
  await child.output();
  throw new Error(`sluice broker did not answer on port ${port}`);
}

Deno.test("sluice broker reads server.properties and --override, keeps data across SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cli_props_" });
  const port = freePort();
  const props = `${dir}/server.properties`;
  await Deno.writeTextFile(
    props,
    `# test config\nlisteners=PLAINTEXT://127.0.0.1:${port}\nlog.dirs=${dir}/data\nnum.partitions=1\n`,
  );
  const bs = ["--bootstrap-server", `127.0.0.1:${port}`];
  let child = await startBroker([props, "--override", "num.partitions=3", "--quiet"], port);
  try {
    assert.equal(
      (await sluice(["topics", ...bs, "--create", "--topic", "p"])).stdout,
      "Created topic p.\n",
    );
    const described = await sluice(["topics", ...bs, "--describe", "--topic", "p"]);
    assert.match(described.stdout, /^Topic: p\tTopicId: \S+\tPartitionCount: 3\t/);
    const produced = await sluice(["produce", ...bs, "--topic", "p", "--partition", "2"], "kept\n");
    assert.equal(produced.code, 0, produced.stderr);
    child.kill("SIGTERM");
    assert.equal((await child.output()).code, 0);

    child = await startBroker([props, "--quiet"], port);
    const consumed = await sluice(
      ["consume", ...bs, "--topic", "p", "--from-beginning", "--max-messages", "1"],
    );
    assert.deepEqual(consumed, {
      code: 0,
      stdout: "kept\n",
      stderr: "Processed a total of 1 messages\n",
    });
    child.kill("SIGINT");
    assert.equal((await child.output()).code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
      await child.output();
    } catch { /* exited */ }
    await Deno.remove(dir, { recursive: true });
  }
});

/** Every file under `dir` with its size and mtime, to prove a process touched nothing. */
async function snapshotTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else {
        const st = await Deno.stat(p);
        out.push(`${p} ${st.size} ${st.mtime?.getTime()}`);
      }
    }
  }
  await walk(dir);
  return out.sort();
}

Deno.test("a second sluice broker on the same data dir exits at once, touching nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cli_lock_" });
  const port = freePort();
  const bs = ["--bootstrap-server", `127.0.0.1:${port}`];
  const first = await startBroker(
    ["--listeners", `PLAINTEXT://127.0.0.1:${port}`, "--log-dirs", dir, "--quiet"],
    port,
  );
  try {
    assert.equal((await sluice(["topics", ...bs, "--create", "--topic", "l"])).code, 0);
    assert.equal((await sluice(["produce", ...bs, "--topic", "l"], "one\ntwo\n")).code, 0);
    const before = await snapshotTree(dir);
    // same directory: another port (it would otherwise fail to bind), and the same port
    for (const other of [freePort(), port]) {
      const r = await sluice([
        "broker",
        "--listeners",
        `PLAINTEXT://127.0.0.1:${other}`,
        "--log-dirs",
        dir,
        "--quiet",
      ]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /^sluice broker: .*data dir .* is in use by another process \(.*\/\.lock is locked\)/,
      );
      assert.equal(r.stderr.split("\n").length, 2, r.stderr);
      assert.deepEqual(await snapshotTree(dir), before);
    }
    const consumed = await sluice(
      ["consume", ...bs, "--topic", "l", "--from-beginning", "--max-messages", "2"],
    );
    assert.equal(consumed.stdout, "one\ntwo\n");
    // a SIGKILLed broker leaves no stale lock: the next one starts on the directory
    first.kill("SIGKILL");
    await first.output();
    const again = await startBroker(
      ["--listeners", `PLAINTEXT://127.0.0.1:${port}`, "--log-dirs", dir, "--quiet"],
      port,
    );
    const reread = await sluice(
      ["consume", ...bs, "--topic", "l", "--from-beginning", "--max-messages", "2"],
    );
    assert.equal(reread.stdout, "one\ntwo\n");
    again.kill("SIGTERM");
    assert.equal((await again.output()).code, 0);
  } finally {
    try {
      first.kill("SIGKILL");
      await first.output();
    } catch { /* exited */ }
    await Deno.remove(dir, { recursive: true });
  }
});
