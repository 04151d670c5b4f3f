// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { main } from "./main.ts";
import type { CommandIo } from "./io.ts";

function capture(): CommandIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    stdin: new ReadableStream({ start: (c) => c.close() }),
    stdinIsTerminal: false,
  };
}

Deno.test("sluice connect: help, and bad command lines as one usage line", async () => {
  const help = capture();
  assertEquals(await main(["connect", "--help"], help), 0);
  assert(help.out.join("").includes("sluice connect standalone WORKER.properties"));
  const cases: Array<[string[], RegExp]> = [
    [["connect"], /expected "standalone" or "distributed"/],
    [["connect", "bogus"], /unknown mode "bogus"/],
    [["connect", "standalone"], /the worker properties file is missing/],
    [["connect", "distributed", "a", "b"], /takes only the worker properties file/],
    [["connect", "standalone", "/nonexistent/w.properties"], /cannot read \/nonexistent/],
  ];
  for (const [args, message] of cases) {
    const io = capture();
    assertEquals(await main(args, io), 2, args.join(" "));
    assertEquals(io.err.length, 1);
    assert(message.test(io.err[0]), io.err[0]);
  }
  const noOffsets = capture();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/w.properties`, "bootstrap.servers=127.0.0.1:1\n");
    assertEquals(await main(["connect", "standalone", `${dir}/w.properties`], noOffsets), 1);
    assert(/offset\.storage\.file\.filename/.test(noOffsets.err[0]), noOffsets.err[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
