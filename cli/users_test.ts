// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { Broker } from "../server/mod.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required " +
  'user_admin="admin-secret";';

async function sluice(args: string[], stdin = "") {
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

Deno.test("sluice users and --command-config over SASL_PLAINTEXT", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cli_users_" });
  const broker = await Broker.start({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    logLevel: "silent",
    saslJaasConfigs: { "sasl_plaintext.plain": JAAS },
    connectionFailedAuthenticationDelayMs: 0,
  });
  try {
    const props = (mech: string, user: string, pw: string) =>
      `security.protocol=SASL_PLAINTEXT\nsasl.mechanism=${mech}\n` +
      `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required ` +
      `username="${user}" password="${pw}";\n`;
    await Deno.writeTextFile(`${dir}/admin.properties`, props("PLAIN", "admin", "admin-secret"));
    await Deno.writeTextFile(`${dir}/dave.properties`, props("SCRAM-SHA-512", "dave", "d4ve"));
    await Deno.writeTextFile(`${dir}/bad.properties`, props("SCRAM-SHA-512", "dave", "nope"));
    const b = ["--bootstrap-server", `127.0.0.1:${broker.port}`];
    const admin = [...b, "--command-config", `${dir}/admin.properties`];
    // Without credentials the broker closes the connection.
    assert.equal((await sluice(["users", ...b, "--describe"])).code, 1);
    assert.deepEqual(
      await sluice([
        "users",
        ...admin,
        "--add",
        "--user",
        "dave",
        "--mechanism",
        "SCRAM-SHA-512",
        "--iterations",
        "8192",
      ], "d4ve\n"),
      { code: 0, stdout: "Completed updating config for user dave.\n", stderr: "" },
    );
    assert.deepEqual(await sluice(["users", ...admin, "--describe"]), {
      code: 0,
      stdout: "SCRAM credential configs for user-principal 'dave' are " +
        "SCRAM-SHA-512=iterations=8192\n",
      stderr: "",
    });
    const few = await sluice([
      "users",
      ...admin,
      "--add",
      "--user",
      "eve",
      "--password",
      "x",
      "--iterations",
      "100",
    ]);
    assert.equal(few.code, 1);
    assert.match(few.stderr, /UNACCEPTABLE_CREDENTIAL \(Too few iterations\)/);
    // dave's own SCRAM login works for a command; a wrong password fails with the reason.
    const topics = await sluice([
      "topics",
      ...b,
      "--command-config",
      `${dir}/dave.properties`,
      "--list",
    ]);
    assert.deepEqual(topics, { code: 0, stdout: "", stderr: "" });
    const bad = await sluice([
      "topics",
      ...b,
      "--command-config",
      `${dir}/bad.properties`,
      "--list",
    ]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /SASL_AUTHENTICATION_FAILED.*Invalid user credentials|Invalid user credentials/,
    );
    assert.deepEqual(
      await sluice(["users", ...admin, "--delete", "--user", "dave"]),
      { code: 0, stdout: "Completed updating config for user dave.\n", stderr: "" },
    );
    const gone = await sluice(["users", ...admin, "--describe", "--user", "dave"]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /RESOURCE_NOT_FOUND/);
    const noFile = await sluice(["users", ...b, "--command-config", `${dir}/none`, "--describe"]);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /cannot read --command-config/);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
