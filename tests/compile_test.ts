// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The `compile` task builds a single `sluice` binary. `deno compile` needs a runtime (denort) that
// it normally downloads; where none can be downloaded, point DENORT_BIN at a local denort to run
// this test. Without DENORT_BIN the test is ignored (it is not a client the interop suite needs).

import assert from "node:assert/strict";

const denort = Deno.env.get("DENORT_BIN");

Deno.test({
  name: "deno task compile: the sluice binary runs a broker and the topics command",
  ignore: !denort,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice_compile_" });
    const bin = `${dir}/sluice`;
    try {
      const root = new URL("..", import.meta.url).pathname;
      const build = await new Deno.Command(Deno.execPath(), {
        args: [
          "compile",
          "--allow-net",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "--allow-sys",
          "--output",
          bin,
          "cli/main.ts",
        ],
        cwd: root,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));

      const help = await new Deno.Command(bin, { args: ["--help"], stdout: "piped" }).output();
      assert.equal(help.code, 0);
      assert.match(new TextDecoder().decode(help.stdout), /^Usage: sluice COMMAND/);

      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = listener.addr.port;
      listener.close();
      const broker = new Deno.Command(bin, {
        args: [
          "broker",
          "--listeners",
          `PLAINTEXT://127.0.0.1:${port}`,
          "--log-dirs",
          `${dir}/data`,
        ],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      try {
        const server = `127.0.0.1:${port}`;
        let created = "";
        // The broker binary may take a while to listen on a busy machine: retry for up to 60 s.
        const deadline = Date.now() + 60_000;
        while (!created && Date.now() < deadline) {
          const out = await new Deno.Command(bin, {
            args: [
              "topics",
              "--bootstrap-server",
              server,
              "--create",
              "--topic",
              "c",
              "--partitions",
              "2",
            ],
            stdout: "piped",
            stderr: "null",
          }).output();
          if (out.code === 0) created = new TextDecoder().decode(out.stdout);
          else await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(created, "Created topic c.\n");
        const list = await new Deno.Command(bin, {
          args: ["topics", "--bootstrap-server", server, "--list"],
          stdout: "piped",
        }).output();
        assert.equal(new TextDecoder().decode(list.stdout), "c\n");
      } finally {
        broker.kill("SIGTERM");
        assert.equal((await broker.status).code, 0);
        await broker.stderr.cancel();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
