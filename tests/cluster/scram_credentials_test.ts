// Copyright 2026 the Sluice authors. Apache-2.0 license.
// SCRAM credentials are the cluster's (docs/SECURITY.md "SCRAM credentials"): kept in one etcd key
// every broker watches, salted and hashed. A user created at broker 1 (`sluice users`) logs in at
// broker 3 with kcat (librdkafka, SCRAM-SHA-512); DescribeUserScramCredentials answers the same at
// every broker; a deletion at broker 2 revokes the login at broker 3.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runSluice as sluice } from "../../cli/testing.ts";
import {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
} from "../../protocol/messages/alter_user_scram_credentials.ts";
import {
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
} from "../../protocol/messages/describe_user_scram_credentials.ts";
import { RawClient } from "../../server/testing.ts";
import { EtcdClient } from "../../server/cluster/etcd.ts";
import { sharedEtcd } from "../etcd.ts";
import { requireClient, runCommand } from "../harness.ts";
import { clusterTest, startCluster, until } from "./harness.ts";

const kcat = requireClient("kcat");
const etcd = sharedEtcd();
const test = clusterTest("cluster");

/** DescribeUserScramCredentials at one broker: user → [mechanism type, iterations] or error. */
async function describeAt(port: number, user: string): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    const r = await c.request(
      DescribeUserScramCredentialsRequest,
      DescribeUserScramCredentialsResponse,
      0,
      { users: [{ name: user }] },
    );
    const u = r.results[0];
    return u.errorCode !== 0
      ? `error ${u.errorCode}`
      : u.credentialInfos.map((i) => `${i.mechanism}/${i.iterations}`).join(",");
  } finally {
    c.close();
  }
}

/** kcat -L at a SASL_PLAINTEXT port as carol: exit code and stderr. */
async function kcatLogin(port: number, password: string) {
  const r = await runCommand("kcat", [
    "-L",
    "-b",
    `127.0.0.1:${port}`,
    "-X",
    "security.protocol=SASL_PLAINTEXT",
    "-X",
    "sasl.mechanisms=SCRAM-SHA-512",
    "-X",
    "sasl.username=carol",
    "-X",
    `sasl.password=${password}`,
    "-m",
    "5",
  ], { timeoutMs: 30_000 });
  if (r.timedOut) throw new Error(`kcat -L: timed out\n${r.stderr}`);
  return r;
}

test("SCRAM credentials made at one broker log in at every broker; deletion revokes", async () => {
  const cluster = await startCluster(await etcd(), 3, {
    listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
    saslEnabledMechanisms: ["SCRAM-SHA-512", "SCRAM-SHA-256"],
    connectionFailedAuthenticationDelayMs: 0,
  });
  const store = new EtcdClient({ endpoints: cluster.etcd.endpoints });
  try {
    const [b1, b2, b3] = cluster.brokers.map((b) => b!);
    const sasl3 = b3.listener("SASL_PLAINTEXT").port;
    // unknown at broker 3 before
    const before = await kcatLogin(sasl3, "carol-secret");
    assert(before.code !== 0, before.stdout);
    // created through broker 1 alone
    const add = await sluice([
      "users",
      "--bootstrap-server",
      `127.0.0.1:${b1.port}`,
      "--add",
      "--user",
      "carol",
      "--password",
      "carol-secret",
      "--mechanism",
      "SCRAM-SHA-512",
    ]);
    assertEquals(add.code, 0, add.stderr);
    // the same answer at every broker (the watch delivers within milliseconds)
    for (const b of [b1, b2, b3]) {
      await until(
        `carol at broker ${b.config.nodeId}`,
        async () => (await describeAt(b.port, "carol")) === "2/4096",
      );
    }
    const ok = await kcatLogin(sasl3, "carol-secret");
    assertEquals(ok.code, 0, ok.stderr);
    assert(ok.stdout.includes("3 brokers:"), ok.stdout);
    const wrong = await kcatLogin(sasl3, "not-carols");
    assert(
      wrong.code !== 0 && /Authentication failed|credentials/i.test(wrong.stderr),
      wrong.stderr,
    );
    // stored salted and hashed: neither the password nor anything but salt/iterations/keys
    const kv = await store.get(`${b1.cluster!.store.root}/scram-credentials`);
    assert(kv !== undefined);
    assert(!kv.value.includes("carol-secret"));
    const stored = JSON.parse(kv.value).users.carol["SCRAM-SHA-512"];
    assertEquals(Object.keys(stored).sort(), ["iterations", "salt", "serverKey", "storedKey"]);
    // deleted through broker 2: revoked at broker 3
    const c2 = await RawClient.connect(b2.port);
    const del = await c2.request(
      AlterUserScramCredentialsRequest,
      AlterUserScramCredentialsResponse,
      0,
      { deletions: [{ name: "carol", mechanism: 2 }] },
    );
    c2.close();
    assertEquals(del.results.map((r) => [r.user, r.errorCode]), [["carol", 0]]);
    for (const b of [b1, b2, b3]) {
      await until(
        `carol gone at broker ${b.config.nodeId}`,
        async () => (await describeAt(b.port, "carol")) === "error 91",
      ); // RESOURCE_NOT_FOUND
    }
    const revoked = await kcatLogin(sasl3, "carol-secret");
    assert(revoked.code !== 0, revoked.stdout);
    assert(/SASL authentication error|Authentication failed/i.test(revoked.stderr), revoked.stderr);
  } finally {
    store.close();
    await cluster.close();
  }
}, kcat);
