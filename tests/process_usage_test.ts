// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { cpuBetween, type ProcessUsage, processUsage, threadCpuNs } from "./process_usage.ts";

/** One clock tick in seconds (`getconf CLK_TCK` is 100 on Linux). */
const TICK = 0.01;

/**
 * A child that burns a known amount of CPU on chosen threads: each thread spins until its own
 * `/proc/thread-self/schedstat` has grown by the asked milliseconds. Commands on stdin, one a line,
 * each answered by a line on stdout: `spawn` (a Worker; answers its thread id), `burn MS` (the main
 * thread and every worker), `burnw MS` (the workers only), `end` (terminates the last worker).
 */
const CHILD = `
const WORKER = \`
const ns = () => Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]);
self.onmessage = (e) => {
  if (e.data === "tid") return self.postMessage(Deno.readLinkSync("/proc/thread-self").split("/")[2]);
  const t0 = ns();
  let x = 0;
  while (ns() - t0 < e.data * 1e6) for (let i = 0; i < 10000; i++) x += i;
  self.postMessage(String(x > 0));
};
\`;
const url = URL.createObjectURL(new Blob([WORKER], { type: "text/javascript" }));
const ns = () => Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]);
const workers = [];
const ask = (w, m) => new Promise((r) => { w.onmessage = (e) => r(e.data); w.postMessage(m); });
const burn = (ms) => {
  const t0 = ns();
  let x = 0;
  while (ns() - t0 < ms * 1e6) for (let i = 0; i < 10000; i++) x += i;
};
const out = (s) => Deno.stdout.writeSync(new TextEncoder().encode(s + "\\n"));
let buf = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buf += chunk;
  let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const [cmd, arg] = buf.slice(0, i).split(" ");
    buf = buf.slice(i + 1);
    if (cmd === "spawn") {
      const w = new Worker(url, { type: "module" });
      workers.push(w);
      out(await ask(w, "tid"));
    } else if (cmd === "burn" || cmd === "burnw") {
      const done = Promise.all(workers.map((w) => ask(w, Number(arg))));
      if (cmd === "burn") burn(Number(arg));
      await done;
      out("done");
    } else if (cmd === "end") {
      workers.pop().terminate();
      out("done");
    }
  }
}
Deno.exit(0);
`;

/** The child process, driven line by line. */
async function startChild() {
  const file = await Deno.makeTempFile({ prefix: "sluice-cpu-", suffix: ".js" });
  await Deno.writeTextFile(file, CHILD);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", file],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  return {
    pid: child.pid,
    async send(cmd: string): Promise<string> {
      await writer.write(new TextEncoder().encode(cmd + "\n"));
      while (!buf.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`child exited before answering ${cmd}`);
        buf += value;
      }
      const line = buf.slice(0, buf.indexOf("\n"));
      buf = buf.slice(buf.indexOf("\n") + 1);
      return line;
    },
    async close() {
      await writer.close().catch(() => {});
      await reader.cancel().catch(() => {});
      await child.status;
      clearTimeout(timer);
      await Deno.remove(file);
    },
  };
}

const sumNs = (u: ProcessUsage) => [...u.threadCpuNs.values()].reduce((a, b) => a + b, 0);

Deno.test("processUsage: nanoseconds of three burning threads agree with the clock ticks", async () => {
  const child = await startChild();
  try {
    await child.send("spawn");
    await child.send("spawn");
    const before = await processUsage(child.pid);
    assert.equal(await child.send("burn 300"), "done");
    const after = await processUsage(child.pid);
    const cpu = cpuBetween(before, after);
    const threads = after.threadCpuNs.size;
    assert.equal(cpu.fallback, undefined);
    // three threads burned 300 ms each, measured by each thread itself
    assert.ok(cpu.seconds >= 0.9, `${cpu.seconds} s on CPU, 0.9 burned`);
    assert.ok(
      Math.abs(cpu.seconds - cpu.tickSeconds) <= (threads + 1) * TICK,
      `ns ${cpu.seconds} s, ticks ${cpu.tickSeconds} s, ${threads} threads`,
    );
    // the whole run so far: every thread is alive, so the totals agree too
    assert.ok(
      Math.abs(sumNs(after) / 1e9 - after.cpuSeconds) <= (threads + 1) * TICK,
      `ns total ${sumNs(after) / 1e9} s, ticks ${after.cpuSeconds} s, ${threads} threads`,
    );
  } finally {
    await child.close();
  }
});

Deno.test("processUsage: a thread that exits between two readings makes the interval fall back to ticks", async () => {
  const child = await startChild();
  try {
    const tid = Number(await child.send("spawn"));
    const before = await processUsage(child.pid);
    assert.ok(
      before.threadCpuNs.has(tid),
      `worker thread ${tid} among ${[...before.threadCpuNs.keys()]}`,
    );
    assert.equal(await child.send("burnw 300"), "done");
    assert.equal(await child.send("end"), "done");
    for (let i = 0; i < 100; i++) {
      try {
        await Deno.stat(`/proc/${child.pid}/task/${tid}`);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const after = await processUsage(child.pid);
    assert.ok(!after.threadCpuNs.has(tid), `worker thread ${tid} still there`);
    const cpu = cpuBetween(before, after);
    assert.equal(cpu.fallback, "thread exited");
    assert.equal(cpu.seconds, cpu.tickSeconds);
    assert.ok(cpu.tickSeconds >= 0.3 - TICK, `${cpu.tickSeconds} s of ticks, 0.3 burned`);
    // the surviving threads' nanoseconds alone miss the worker's 300 ms
    let ns = 0;
    for (const [t, v] of after.threadCpuNs) ns += v - (before.threadCpuNs.get(t) ?? 0);
    assert.ok(ns / 1e9 < cpu.tickSeconds - 0.2, `surviving threads ${ns / 1e9} s`);
  } finally {
    await child.close();
  }
});

Deno.test("cpuBetween: born threads count from 0, exited threads and short-lived ones fall back", () => {
  const u = (cpuSeconds: number, threads: Array<[number, number]>): ProcessUsage => ({
    cpuSeconds,
    threadCpuNs: new Map(threads),
    peakRssBytes: 0,
  });
  const a = u(1.0, [[1, 600e6], [2, 400e6]]);
  // thread 3 born in between: counts from 0
  assert.deepEqual(cpuBetween(a, u(1.25, [[1, 700e6], [2, 450e6], [3, 101e6]])), {
    seconds: 0.251,
    tickSeconds: 0.25,
  });
  // thread 2 gone: the ticks
  const gone = cpuBetween(a, u(1.5, [[1, 700e6]]));
  assert.equal(gone.fallback, "thread exited");
  assert.equal(gone.seconds, 0.5);
  // a thread born and gone in between left 300 ms in the ticks only
  const short = cpuBetween(a, u(1.4, [[1, 650e6], [2, 450e6]]));
  assert.equal(short.fallback, "ticks ahead");
  assert.ok(Math.abs(short.seconds - 0.4) < 1e-9);
});

Deno.test("threadCpuNs: a worker reads its own thread's nanoseconds, not the process's", async () => {
  const module = new URL("./process_usage.ts", import.meta.url).href;
  // The worker spins until its clock ticks (`/proc/thread-self/stat`) have grown by 30 (300 ms),
  // then answers what threadCpuNs saw meanwhile and its thread id.
  const code = `
import { threadCpuNs } from ${JSON.stringify(module)};
const ticks = () => {
  const f = Deno.readTextFileSync("/proc/thread-self/stat").split(") ")[1].split(" ");
  return Number(f[11]) + Number(f[12]);
};
self.onmessage = () => {
  const ns0 = threadCpuNs();
  const t0 = ticks();
  let x = 0;
  while (ticks() - t0 < 30) for (let i = 0; i < 10000; i++) x += i;
  const tid = Number(Deno.readLinkSync("/proc/thread-self").split("/")[2]);
  self.postMessage({ ns: threadCpuNs() - ns0, tid, x: x > 0 });
};
`;
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    const main0 = threadCpuNs();
    const wall0 = performance.now();
    const answer = await new Promise<{ ns: number; tid: number }>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage("go");
    });
    const wall = (performance.now() - wall0) / 1000;
    const main = (threadCpuNs() - main0) / 1e9;
    // 30 whole ticks grown: about 300 ms on CPU, and no more than the wall time. Ticks are
    // sampled at the timer interrupt, so under load a thread's ticks can run ahead of its
    // nanoseconds by more than one tick (a CI run at load 2-4 saw 285.6 ms for 30 ticks); reading
    // the main thread instead, which only waits, would give under 150 ms (below)
    assert.ok(answer.ns / 1e9 >= 0.3 - 5 * TICK, `worker ${answer.ns / 1e9} s on CPU`);
    assert.ok(answer.ns / 1e9 <= wall + TICK, `worker ${answer.ns / 1e9} s in ${wall} s`);
    assert.notEqual(answer.tid, Number(Deno.readLinkSync("/proc/thread-self").split("/")[2]));
    // the main thread only waited meanwhile
    assert.ok(main < 0.15, `main thread ${main} s on CPU while the worker burned`);
    // the main thread's own reading is its entry among the process's threads (under `deno test`
    // the JavaScript runs on a thread other than the first one, whose id is the pid)
    const tid = Number(Deno.readLinkSync("/proc/thread-self").split("/")[2]);
    const before = threadCpuNs();
    const usage = await processUsage(Deno.pid);
    const after = threadCpuNs();
    const entry = usage.threadCpuNs.get(tid)!;
    assert.ok(before <= entry && entry <= after, `${before} <= ${entry} <= ${after}`);
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});
