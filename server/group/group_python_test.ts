// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Consumer groups over real TCP with kafka-python and confluent-kafka (subprocesses running
// testdata/group_member.py): two members split a 4-partition topic with no overlap; when one
// leaves (LeaveGroup) or is killed (session timeout), the other takes every partition.
// Ignored for a library /usr/bin/python3 cannot import.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Broker } from "../broker.ts";
import { LogManager } from "../../engine/mod.ts";
import { waitFor } from "../../tests/harness.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = new URL("./testdata/group_member.py", import.meta.url).pathname;

function importable(module: string): boolean {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", `import ${module}`], stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** A member subprocess and the partitions it owns (after each assigned/revoked line). */
class PyMember {
  readonly child: Deno.ChildProcess;
  readonly owned = new Set<number>();
  readonly lines: string[] = [];
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;

  constructor(lib: string, bootstrap: string, group: string, topic: string) {
    const child = new Deno.Command(PYTHON, {
      args: [SCRIPT, lib, bootstrap, group, topic],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.child = child;
    this.#stdin = child.stdin.getWriter();
    (async () => {
      let buf = "";
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) {
        buf += decoder.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          this.lines.push(line);
          const msg = JSON.parse(line) as { assigned?: number[]; revoked?: number[] };
          // Eager protocols: an assignment replaces what was owned.
          if (msg.assigned) {
            this.owned.clear();
            for (const p of msg.assigned) this.owned.add(p);
          }
          if (msg.revoked) { for (const p of msg.revoked) this.owned.delete(p); }
        }
      }
    })();
  }

  get partitions(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }

  /** Close stdin: the member leaves the group cleanly and exits. */
  async leave(): Promise<void> {
    await this.#stdin.close();
    await this.child.status;
  }

  /** SIGKILL: no LeaveGroup. */
  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.child.status;
  }
}

for (const [lib, module] of [["kafka-python", "kafka"], ["confluent-kafka", "confluent_kafka"]]) {
  Deno.test({
    name: `${lib} groups: split, leave, kill: the survivor takes every partition`,
    ignore: !importable(module),
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "sluice_group_py_" });
      const logs = await LogManager.open(dir);
      await logs.createTopic("tp", 4);
      await logs.close();
      const broker = await Broker.start({
        listeners: "PLAINTEXT://127.0.0.1:0",
        logDirs: [dir],
        logLevel: "silent",
        groupInitialRebalanceDelayMs: 0,
        offsetsTopicNumPartitions: 5,
      });
      const bootstrap = `127.0.0.1:${broker.port}`;
      const members: PyMember[] = [];
      try {
        const a = new PyMember(lib, bootstrap, "gp", "tp");
        members.push(a);
        await waitFor("A to own tp", () => a.partitions.length === 4);
        const b = new PyMember(lib, bootstrap, "gp", "tp");
        members.push(b);
        await waitFor(
          "A and B to split tp",
          () => a.partitions.length === 2 && b.partitions.length === 2,
        );
        assertEquals([...a.partitions, ...b.partitions].sort(), [0, 1, 2, 3]);
        await b.leave();
        await waitFor("A to own tp after B left", () => a.partitions.length === 4);
        const c = new PyMember(lib, bootstrap, "gp", "tp");
        members.push(c);
        await waitFor(
          "A and C to split tp",
          () => a.partitions.length === 2 && c.partitions.length === 2,
        );
        assertEquals([...a.partitions, ...c.partitions].sort(), [0, 1, 2, 3]);
        await c.kill();
        await waitFor("A to own tp after C was killed", () => a.partitions.length === 4);
        assertEquals(a.partitions, [0, 1, 2, 3]);
      } finally {
        for (const m of members) await m.kill();
        await broker.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
