// Copyright 2026 the Sluice authors. Apache-2.0 license.
// ACLs with real clients on PLAINTEXT, where every client is User:ANONYMOUS: kcat (librdkafka) is
// refused produce, consume and group use with Kafka's errors until `sluice acls --add` grants
// them; kafka-python creates, describes and deletes ACLs (Debian's confluent-kafka 1.7.0 has no
// ACL admin calls: they came in 1.9); ACLs survive a restart.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { runSluice as sluice } from "../../cli/testing.ts";
import {
  AclOperation,
  AclPermissionType,
  PatternType,
  ResourceType,
} from "../../server/security/acl.ts";
import {
  interopTest,
  PYTHON,
  requireClient,
  runCommand,
  startBroker,
  type TestBroker,
  uniqueTopic,
} from "../harness.ts";

const kcat = requireClient("kcat");
const kafkaPython = requireClient("kafka-python");
const confluent = requireClient("confluent-kafka");

/** A broker with the ACL authorizer where User:ANONYMOUS may only administer ACLs and create topics. */
async function aclBroker(): Promise<TestBroker> {
  const b = await startBroker({ authorizerClassName: "sluice.acl" });
  // the operator's bootstrap (Kafka does it with a super user): ACL administration, topic creation
  await b.broker.authorizer!.createAcls(
    [AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.CREATE].map((operation) => ({
      resourceType: ResourceType.CLUSTER,
      resourceName: "kafka-cluster",
      patternType: PatternType.LITERAL,
      principal: "User:ANONYMOUS",
      host: "*",
      operation,
      permissionType: AclPermissionType.ALLOW,
    })),
  );
  return b;
}

async function kcatRun(args: string[], stdin?: string) {
  const r = await runCommand("kcat", args, { stdin, timeoutMs: 30_000 });
  if (r.timedOut) throw new Error(`kcat ${args.join(" ")}: timed out\n${r.stderr}`);
  return r;
}

interopTest(
  kcat,
  "produce, consume and a group refused with Kafka's errors, then allowed by sluice acls --add",
  async () => {
    const b = await aclBroker();
    try {
      const topic = uniqueTopic("acl-kcat");
      const group = `${topic}-g`;
      const produce = () =>
        kcatRun(
          ["-b", b.bootstrap, "-P", "-t", topic, "-X", "message.timeout.ms=10000"],
          "one\ntwo\n",
        );
      const p = await produce();
      assertEquals(p.code, 1);
      ok(p.stderr.includes("Topic authorization failed"), p.stderr);
      // the topic was not even auto-created: CREATE on the cluster is not DESCRIBE on the topic
      assertEquals(
        b.broker.authorizer!.authorize(
          { principal: { type: "User", name: "ANONYMOUS" }, host: "127.0.0.1" },
          AclOperation.DESCRIBE,
          ResourceType.TOPIC,
          topic,
        ),
        false,
      );

      const add = await sluice([
        "acls",
        "--bootstrap-server",
        b.bootstrap,
        "--add",
        "--allow-principal",
        "User:ANONYMOUS",
        "--producer",
        "--topic",
        topic,
      ]);
      assertEquals([add.code, add.stderr], [0, ""]);
      ok(add.stdout.includes("operation=WRITE"), add.stdout);
      const p2 = await produce();
      assertEquals([p2.code, p2.stderr], [0, ""]);

      // consume: WRITE/DESCRIBE/CREATE are not READ
      const consume = () =>
        kcatRun(["-b", b.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e"]);
      const c = await consume();
      assertEquals(c.code, 1);
      ok(c.stderr.includes("Topic authorization failed"), c.stderr);
      assertEquals(c.stdout, "");
      const g = await kcatRun([
        "-b",
        b.bootstrap,
        "-G",
        group,
        topic,
        "-e",
        "-X",
        "auto.offset.reset=earliest",
      ]);
      assertEquals(g.code, 1);
      ok(g.stderr.includes("Group authorization failed"), g.stderr);
      assertEquals(g.stdout, "");

      const add2 = await sluice([
        "acls",
        "--bootstrap-server",
        b.bootstrap,
        "--add",
        "--allow-principal",
        "User:ANONYMOUS",
        "--consumer",
        "--topic",
        topic,
        "--group",
        group,
      ]);
      assertEquals(add2.code, 0);
      const c2 = await consume();
      assertEquals([c2.code, c2.stdout], [0, "one\ntwo\n"]);
      const g2 = await kcatRun([
        "-b",
        b.bootstrap,
        "-G",
        group,
        topic,
        "-e",
        "-X",
        "auto.offset.reset=earliest",
      ]);
      assertEquals([g2.code, g2.stdout], [0, "one\ntwo\n"]);

      // --list shows them as kafka-acls.sh does; --remove takes consuming away again
      const list = await sluice([
        "acls",
        "--bootstrap-server",
        b.bootstrap,
        "--list",
        "--topic",
        topic,
      ]);
      ok(
        list.stdout.includes(
          `Current ACLs for resource \`ResourcePattern(resourceType=TOPIC, name=${topic}, patternType=LITERAL)\``,
        ),
        list.stdout,
      );
      ok(
        list.stdout.includes(
          "(principal=User:ANONYMOUS, host=*, operation=READ, permissionType=ALLOW)",
        ),
      );
      const rm = await sluice([
        "acls",
        "--bootstrap-server",
        b.bootstrap,
        "--remove",
        "--allow-principal",
        "User:ANONYMOUS",
        "--operation",
        "Read",
        "--topic",
        topic,
        "--force",
      ]);
      assertEquals(rm.code, 0);
      const c3 = await consume();
      assertEquals(c3.code, 1);

      // ACLs survive a restart
      await b.restart();
      const p3 = await produce();
      assertEquals(p3.code, 0);
      const c4 = await consume();
      assertEquals(c4.code, 1);
      const list2 = await sluice(["acls", "--bootstrap-server", b.bootstrap, "--list"]);
      ok(
        list2.stdout.includes("operation=WRITE") &&
          !list2.stdout.includes(
            `name=${topic}, patternType=LITERAL)\`: \n\t(principal=User:ANONYMOUS, host=*, operation=READ`,
          ),
      );
    } finally {
      await b.close();
    }
  },
);

interopTest(
  kcat,
  "sluice acls: bad flags and a broker without an authorizer give one clear line",
  async () => {
    const plain = await startBroker();
    try {
      const r = await sluice([
        "acls",
        "--bootstrap-server",
        plain.bootstrap,
        "--add",
        "--allow-principal",
        "User:a",
        "--operation",
        "Read",
        "--topic",
        "t",
      ]);
      assertEquals(r.code, 1);
      ok(
        r.stderr.includes("SECURITY_DISABLED") ||
          r.stderr.includes("Security features are disabled"),
        r.stderr,
      );
      const bad = await sluice(["acls", "--add", "--allow-principal", "alice", "--topic", "t"]);
      assertEquals(bad.code, 2);
      ok(bad.stderr.startsWith("sluice acls: invalid principal"), bad.stderr);
      const op = await sluice([
        "acls",
        "--add",
        "--allow-principal",
        "User:a",
        "--operation",
        "Fly",
        "--topic",
        "t",
      ]);
      assertEquals(op.code, 2);
      const none = await sluice(["acls", "--add", "--allow-principal", "User:a"]);
      assertEquals(none.code, 2);
    } finally {
      await plain.close();
    }
  },
);

const KAFKA_PYTHON_ADMIN = `
import json, sys
from kafka.admin import (KafkaAdminClient, ACL, ACLFilter, ResourcePattern, ResourcePatternFilter,
    ResourceType, ACLOperation, ACLPermissionType, ACLResourcePatternType)
a = KafkaAdminClient(bootstrap_servers=sys.argv[1])
acl = ACL(principal="User:bob", host="*", operation=ACLOperation.WRITE,
    permission_type=ACLPermissionType.ALLOW,
    resource_pattern=ResourcePattern(ResourceType.TOPIC, "logs-", ACLResourcePatternType.PREFIXED))
res = a.create_acls([acl])
out = {"created": len(res["succeeded"]), "failed": len(res["failed"])}
flt = ACLFilter(principal="User:bob", host="*", operation=ACLOperation.ANY,
    permission_type=ACLPermissionType.ANY,
    resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
acls, err = a.describe_acls(flt)
out["described"] = [(x.resource_pattern.resource_name, x.operation.name) for x in acls]
out["error"] = err.__name__
d = a.delete_acls([flt])
out["deleted"] = sum(len(x[1]) for x in d)
print(json.dumps(out))
`;

interopTest(
  kafkaPython,
  "KafkaAdminClient creates, describes and deletes a PREFIXED ACL",
  async () => {
    const b = await aclBroker();
    try {
      const r = await runCommand(PYTHON, ["-c", KAFKA_PYTHON_ADMIN, b.bootstrap], {
        timeoutMs: 60_000,
      });
      assertEquals(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
      assertEquals(out, {
        created: 1,
        failed: 0,
        described: [["logs-", "WRITE"]],
        error: "NoError",
        deleted: 1,
      });
      assertEquals(b.broker.authorizer!.size, 3);
    } finally {
      await b.close();
    }
  },
);

const CONFLUENT_TXN = `
import json, sys
from confluent_kafka import Producer, KafkaException
b, topic, txid = sys.argv[1], sys.argv[2], sys.argv[3]
p = Producer({"bootstrap.servers": b, "transactional.id": txid, "transaction.timeout.ms": 10000})
out = {}
try:
    p.init_transactions(15)
    p.begin_transaction()
    p.produce(topic, b"v1", b"k")
    p.produce(topic, b"v2", b"k")
    p.commit_transaction(15)
    out["result"] = "committed"
except KafkaException as e:
    out["result"] = e.args[0].name()
print(json.dumps(out))
`;

interopTest(
  confluent,
  "a transactional producer is refused TRANSACTIONAL_ID_AUTHORIZATION_FAILED, then commits once granted",
  async () => {
    const b = await aclBroker();
    try {
      const topic = uniqueTopic("acl-txn");
      const txn = async () => {
        const r = await runCommand(
          PYTHON,
          ["-c", CONFLUENT_TXN, b.bootstrap, topic, `${topic}-tx`],
          {
            timeoutMs: 60_000,
          },
        );
        assertEquals(r.code, 0, r.stderr);
        return JSON.parse(r.stdout.trim().split("\n").pop()!).result;
      };
      // WRITE on the topic alone: the transactional id is refused, nothing is written
      const w = await sluice([
        "acls",
        "--bootstrap-server",
        b.bootstrap,
        "--add",
        "--allow-principal",
        "User:ANONYMOUS",
        "--producer",
        "--topic",
        topic,
      ]);
      assertEquals(w.code, 0);
      assertEquals(await txn(), "TRANSACTIONAL_ID_AUTHORIZATION_FAILED");
      const add = await sluice([
        "acls",
        "--bootstrap-server",
        b.bootstrap,
        "--add",
        "--allow-principal",
        "User:ANONYMOUS",
        "--producer",
        "--topic",
        topic,
        "--transactional-id",
        `${topic}-tx`,
      ]);
      assertEquals(add.code, 0);
      assertEquals(await txn(), "committed");
      const read = await sluice([
        "acls",
        "--bootstrap-server",
        b.bootstrap,
        "--add",
        "--allow-principal",
        "User:ANONYMOUS",
        "--operation",
        "Read",
        "--topic",
        topic,
      ]);
      assertEquals(read.code, 0);
      const c = await kcatRun([
        "-b",
        b.bootstrap,
        "-C",
        "-t",
        topic,
        "-o",
        "beginning",
        "-e",
        "-X",
        "isolation.level=read_committed",
      ]);
      assertEquals([c.code, c.stdout], [0, "v1\nv2\n"]);
    } finally {
      await b.close();
    }
  },
);
