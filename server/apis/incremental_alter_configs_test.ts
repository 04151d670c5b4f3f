// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from "../../protocol/messages/incremental_alter_configs.ts";
import {
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from "../../protocol/messages/describe_configs.ts";
import { createTopic, RawClient, startTestBroker } from "../testing.ts";

const SET = 0, DELETE = 1, APPEND = 2, SUBTRACT = 3;

async function overrides(c: RawClient, topic: string): Promise<Record<string, string>> {
  const res = await c.request(DescribeConfigsRequest, DescribeConfigsResponse, 4, {
    resources: [{ resourceType: 2, resourceName: topic, configurationKeys: null }],
  });
  const out: Record<string, string> = {};
  for (const e of res.results[0].configs) if (e.configSource === 1) out[e.name] = e.value!;
  return out;
}

function alter(name: string, configs: [string, number, string | null][]) {
  return {
    resourceType: 2,
    resourceName: name,
    configs: configs.map(([n, op, value]) => ({ name: n, configOperation: op, value })),
  };
}

Deno.test("IncrementalAlterConfigs: SET, DELETE, APPEND, SUBTRACT", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "inc", 1, { "retention.ms": "1000", "flush.ms": "50" });
    const res = await c.request(
      IncrementalAlterConfigsRequest,
      IncrementalAlterConfigsResponse,
      1,
      {
        resources: [alter("inc", [
          ["segment.bytes", SET, "2097152"],
          ["flush.ms", DELETE, null],
          ["cleanup.policy", APPEND, "compact"],
        ])],
      },
    );
    assertEquals(res.responses[0].errorCode, 0);
    assertEquals(await overrides(c, "inc"), {
      "cleanup.policy": "delete,compact",
      "retention.ms": "1000",
      "segment.bytes": "2097152",
    });
    const sub = await c.request(
      IncrementalAlterConfigsRequest,
      IncrementalAlterConfigsResponse,
      0,
      {
        resources: [alter("inc", [["cleanup.policy", SUBTRACT, "delete"]])],
      },
    );
    assertEquals(sub.responses[0].errorCode, 0);
    assertEquals((await overrides(c, "inc"))["cleanup.policy"], "compact");
  } finally {
    c.close();
  }
});

Deno.test("IncrementalAlterConfigs: errors and validate_only", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "inc");
    // One request per resource: a resource listed twice in one request is refused as such.
    const cases = [
      alter("inc", [["retention.ms", APPEND, "5"]]),
      alter("inc", [["retention.ms", SET, "5"], ["retention.ms", DELETE, null]]),
      alter("inc", [["retention.ms", 9, "5"]]),
      alter("inc", [["retention.ms", SET, null]]),
      alter("inc", [["retention.ms", SET, "-5"]]),
      alter("inc", [["bogus.config", SET, "1"]]),
      alter("missing", [["retention.ms", SET, "5"]]),
      {
        resourceType: 4,
        resourceName: "1",
        configs: [{ name: "listeners", configOperation: SET, value: "PLAINTEXT://:1" }],
      },
    ];
    const codes = [];
    for (const resource of cases) {
      const res = await c.request(
        IncrementalAlterConfigsRequest,
        IncrementalAlterConfigsResponse,
        1,
        { resources: [resource] },
      );
      codes.push(res.responses[0].errorCode);
    }
    assertEquals(codes, [
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
    ]);
    const dry = await c.request(
      IncrementalAlterConfigsRequest,
      IncrementalAlterConfigsResponse,
      1,
      {
        resources: [alter("inc", [["retention.ms", SET, "5"]])],
        validateOnly: true,
      },
    );
    assertEquals(dry.responses[0].errorCode, 0);
    assertEquals(await overrides(c, "inc"), {});
  } finally {
    c.close();
  }
});

Deno.test("IncrementalAlterConfigs: a resource listed twice is refused (INVALID_REQUEST) and left unchanged", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "dup", 1, { "retention.ms": "1000" });
    await createTopic(c, "once", 1);
    const copies = Array.from({ length: 1000 }, () => ({
      resourceType: 2,
      resourceName: "dup",
      configs: [{ name: "retention.ms", configOperation: SET, value: "5" }],
    }));
    const res = await c.request(
      IncrementalAlterConfigsRequest,
      IncrementalAlterConfigsResponse,
      1,
      {
        resources: [
          ...copies,
          {
            resourceType: 2,
            resourceName: "once",
            configs: [{ name: "retention.ms", configOperation: SET, value: "7" }],
          },
        ],
      },
    );
    assertEquals(res.responses.length, 1001);
    assertEquals(
      new Set(res.responses.slice(0, 1000).map((r) => `${r.resourceName} ${r.errorCode}`)),
      new Set([`dup ${ErrorCode.INVALID_REQUEST}`]),
    );
    assertEquals(res.responses[0].errorMessage, "Duplicate resource");
    assertEquals([res.responses[1000].resourceName, res.responses[1000].errorCode], ["once", 0]);
    assertEquals((await overrides(c, "dup"))["retention.ms"], "1000");
    assertEquals((await overrides(c, "once"))["retention.ms"], "7");
  } finally {
    c.close();
  }
});

Deno.test("IncrementalAlterConfigs: DELETE of an override that is not set changes nothing; an unknown name is INVALID_CONFIG", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "unset", 1, { "flush.ms": "50" });
    const codes = [];
    for (
      const configs of [
        [["retention.ms", DELETE, null], ["cleanup.policy", DELETE, null]],
        [["no.such.config", DELETE, null]],
      ] as [string, number, null][][]
    ) {
      const res = await c.request(
        IncrementalAlterConfigsRequest,
        IncrementalAlterConfigsResponse,
        1,
        { resources: [alter("unset", configs)] },
      );
      codes.push(res.responses[0].errorCode);
    }
    assertEquals(codes, [0, ErrorCode.INVALID_CONFIG]);
    assertEquals(await overrides(c, "unset"), { "flush.ms": "50" });
  } finally {
    c.close();
  }
});
