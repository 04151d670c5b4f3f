// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `deno task cluster`: a local cluster on one machine — one etcd member and three brokers in
 * cluster mode (docs/CLUSTER.md), each its own process, logs prefixed with `[etcd]`, `[b1]`,
 * ... on stderr — until Ctrl-C, which stops the brokers cleanly and then etcd.
 *
 * ```sh
 * deno task cluster                       # etcd on 127.0.0.1:2379, brokers on 9092, 9093, 9094
 * deno task cluster --brokers 5 --port 19092 --dir /tmp/sluice-cluster
 * deno task cluster --etcd http://10.0.0.5:2379   # use a running etcd instead of starting one
 * ```
 *
 * Data stays in `--dir` (default `./data/cluster`): `etcd/`, `b1/`, `b2/`, ... so a second run
 * finds the same cluster. Needs `etcd` (Debian: `apt-get install etcd-server`) unless `--etcd`.
 *
 * @module
 */

interface Options {
  brokers: number;
  port: number;
  dir: string;
  etcd: string | undefined;
  etcdPort: number;
}

function parse(args: string[]): Options {
  const o: Options = {
    brokers: 3,
    port: 9092,
    dir: "./data/cluster",
    etcd: undefined,
    etcdPort: 2379,
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = args[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    switch (flag) {
      case "--brokers":
        o.brokers = Number(value);
        break;
      case "--port":
        o.port = Number(value);
        break;
      case "--dir":
        o.dir = value;
        break;
      case "--etcd":
        o.etcd = value;
        break;
      case "--etcd-port":
        o.etcdPort = Number(value);
        break;
      default:
        throw new Error(`unknown flag ${flag} (--brokers, --port, --dir, --etcd, --etcd-port)`);
    }
  }
  if (!Number.isInteger(o.brokers) || o.brokers < 1) throw new Error("--brokers: a number ≥ 1");
  if (!Number.isInteger(o.port) || o.port < 1 || o.port + o.brokers > 65535) {
    throw new Error("--port: a port number");
  }
  return o;
}

function pipe(stream: ReadableStream<Uint8Array>, prefix: string): void {
  (async () => {
    let buf = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      buf += text;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        console.error(`${prefix} ${buf.slice(0, nl)}`);
        buf = buf.slice(nl + 1);
      }
    }
    if (buf !== "") console.error(`${prefix} ${buf}`);
  })().catch(() => {});
}

async function waitHealthy(url: string, child: Deno.ChildProcess | undefined): Promise<void> {
  const deadline = Date.now() + 30_000;
  let exited = false;
  child?.status.then(() => exited = true);
  while (Date.now() < deadline) {
    if (exited) throw new Error("etcd exited; see its log above");
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.ok && (await res.text()).includes('"true"')) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`etcd at ${url} is not healthy after 30 s`);
}

async function main(): Promise<number> {
  let o: Options;
  try {
    o = parse(Deno.args);
  } catch (e) {
    console.error(`cluster: ${e instanceof Error ? e.message : e}`);
    return 2;
  }
  await Deno.mkdir(o.dir, { recursive: true });
  let etcdChild: Deno.ChildProcess | undefined;
  const etcdUrl = o.etcd ?? `http://127.0.0.1:${o.etcdPort}`;
  if (o.etcd === undefined) {
    const peer = `http://127.0.0.1:${o.etcdPort + 1}`;
    try {
      etcdChild = new Deno.Command("etcd", {
        args: [
          "--name",
          "sluice",
          "--data-dir",
          `${o.dir}/etcd`,
          "--listen-client-urls",
          etcdUrl,
          "--advertise-client-urls",
          etcdUrl,
          "--listen-peer-urls",
          peer,
          "--initial-advertise-peer-urls",
          peer,
          "--initial-cluster",
          `sluice=${peer}`,
          "--log-level",
          "warn",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      console.error(
        `cluster: cannot start etcd (${e instanceof Error ? e.message : e}); install it ` +
          `(apt-get install etcd-server) or pass --etcd URL`,
      );
      return 1;
    }
    pipe(etcdChild.stdout, "[etcd]");
    pipe(etcdChild.stderr, "[etcd]");
  }
  try {
    await waitHealthy(etcdUrl, etcdChild);
  } catch (e) {
    console.error(`cluster: ${e instanceof Error ? e.message : e}`);
    etcdChild?.kill("SIGKILL");
    return 1;
  }
  const cli = new URL("../cli/main.ts", import.meta.url).pathname;
  const brokers: Deno.ChildProcess[] = [];
  for (let id = 1; id <= o.brokers; id++) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        cli,
        "broker",
        "--node-id",
        String(id),
        "--listeners",
        `PLAINTEXT://127.0.0.1:${o.port + id - 1}`,
        "--log-dirs",
        `${o.dir}/b${id}`,
        "--override",
        `controller.etcd.endpoints=${etcdUrl}`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    pipe(child.stdout, `[b${id}]`);
    pipe(child.stderr, `[b${id}]`);
    brokers.push(child);
  }
  const bootstrap = brokers.map((_, i) => `127.0.0.1:${o.port + i}`).join(",");
  console.error(
    `cluster: etcd ${etcdUrl}, ${o.brokers} brokers: ${bootstrap} (data in ${o.dir}); ` +
      `Ctrl-C stops them`,
  );
  const stop = new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGINT", () => resolve());
    Deno.addSignalListener("SIGTERM", () => resolve());
  });
  const anyExit = Promise.race(brokers.map((b, i) => b.status.then((s) => ({ i, s }))));
  const first = await Promise.race([stop.then(() => undefined), anyExit]);
  if (first !== undefined) {
    console.error(`cluster: broker ${first.i + 1} exited (${first.s.code}); stopping the others`);
  }
  for (const b of brokers) {
    try {
      b.kill("SIGTERM");
    } catch {
      // exited
    }
  }
  await Promise.all(brokers.map((b) => b.status));
  if (etcdChild !== undefined) {
    etcdChild.kill("SIGTERM");
    await etcdChild.status;
  }
  return first === undefined ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
