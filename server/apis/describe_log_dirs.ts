// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DescribeLogDirs (key 35): served v0-v4.
// - One result: the broker's data directory (absolute path), with every requested partition this
//   broker holds (all of them for a null topic list; unknown topics and partitions are left out,
//   as Kafka does): its size on disk (the segments' bytes) and offset lag 0 (log end minus high
//   watermark, which are equal on one broker). No future logs (AlterReplicaLogDirs is not served).
// - v3+ top-level error_code 0; v4+ total_bytes and usable_bytes of the directory's volume
//   (statfs; -1 if it cannot be read). Flexible from v2.
// - ACLs: DESCRIBE on the cluster, else no log dir and (v3+) CLUSTER_AUTHORIZATION_FAILED
//   (`../security/access.ts`).

import type * as Fs from "node:fs";
import type * as Path from "node:path";
import { nodeBuiltin } from "../node_builtin.ts";
import {
  createDescribeLogDirsResponse,
  createDescribeLogDirsResponsePartition,
  createDescribeLogDirsResponseResult,
  createDescribeLogDirsResponseTopic,
  DescribeLogDirsRequest,
  DescribeLogDirsResponse,
} from "../../protocol/messages/describe_log_dirs.ts";
import type { BrokerContext } from "../api.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { ACCESS, authorize } from "../security/access.ts";
import { ErrorCode } from "../../protocol/errors.ts";

/** The volume's total and usable bytes, or -1 each when statfs fails. */
function volumeBytes(dir: string): { totalBytes: number; usableBytes: number } {
  try {
    const s = nodeBuiltin<typeof Fs>("node:fs").statfsSync(dir);
    return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
  } catch {
    return { totalBytes: -1, usableBytes: -1 };
  }
}

function topicsOf(broker: BrokerContext, req: DescribeLogDirsRequest) {
  const wanted = req.topics === null
    ? broker.logs.listTopics().map((t) => ({
      topic: t.name,
      partitions: Array.from({ length: t.partitions }, (_, i) => i),
    }))
    : req.topics;
  const out = [];
  for (const t of wanted) {
    const partitions = [];
    for (const p of new Set(t.partitions)) {
      // a partition never used since the last clean shutdown is empty; it is not made for this
      const log = broker.logs.madePartition(t.topic, p);
      if (log === undefined && !broker.logs.hasPartition(t.topic, p)) continue;
      partitions.push(createDescribeLogDirsResponsePartition({
        partitionIndex: p,
        partitionSize: log?.sizeInBytes ?? 0,
        offsetLag: log === undefined ? 0 : log.logEndOffset - log.highWatermark,
        isFutureKey: false,
      }));
    }
    if (partitions.length > 0) {
      out.push(createDescribeLogDirsResponseTopic({ name: t.topic, partitions }));
    }
  }
  return out;
}

/** DescribeLogDirs handler. */
export const describeLogDirs: ApiHandler = defineApi<
  DescribeLogDirsRequest,
  DescribeLogDirsResponse
>({
  minVersion: 0,
  maxVersion: 4,
  request: DescribeLogDirsRequest,
  response: DescribeLogDirsResponse,
  handle(ctx, req) {
    if (!authorize(ctx, ACCESS.DescribeLogDirs.cluster)) {
      return createDescribeLogDirsResponse({
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        results: [],
      });
    }
    const dir = ctx.broker.logs.dir;
    return createDescribeLogDirsResponse({
      errorCode: 0,
      results: [createDescribeLogDirsResponseResult({
        errorCode: 0,
        logDir: nodeBuiltin<typeof Path>("node:path").resolve(dir),
        topics: topicsOf(ctx.broker, req),
        ...volumeBytes(dir),
      })],
    });
  },
  errorResponse(_req, errorCode) {
    return createDescribeLogDirsResponse({ errorCode });
  },
});
