// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  DescribeClusterRequest,
  DescribeClusterResponse,
} from "../../protocol/messages/describe_cluster.ts";
import { RawClient, startTestBroker } from "../testing.ts";

Deno.test("DescribeCluster: one broker, us as controller; controllers endpoint refused", async () => {
  await using t = await startTestBroker({ nodeId: 5, clusterId: "test-cluster" });
  const c = await RawClient.connect(t.broker.port);
  try {
    for (const v of [0, 1]) {
      const res = await c.request(DescribeClusterRequest, DescribeClusterResponse, v, {
        endpointType: 1,
      });
      assertEquals(
        [res.errorCode, res.clusterId, res.controllerId, res.brokers],
        [0, "test-cluster", 5, [{
          brokerId: 5,
          host: "127.0.0.1",
          port: t.broker.port,
          rack: null,
        }]],
      );
    }
    const ctl = await c.request(DescribeClusterRequest, DescribeClusterResponse, 1, {
      endpointType: 2,
    });
    assertEquals(ctl.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
  } finally {
    c.close();
  }
});
