import assert from "node:assert/strict";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function sluice(args: string[], stdin = ""): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
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
  assert.match(
    r.stderr,
    /^sluice topics: client: cannot reach any broker of 127\.0\.0\.1:\d+: .*NETWORK_EXCEPTION/,
  );
  assert.equal(r.stderr.split("\n").length, 2);
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
