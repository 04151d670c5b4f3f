// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, rejects, strictEqual } from "node:assert/strict";
import { ErrorCode } from "../protocol/errors.ts";
import { CoordinatorPartitions } from "./coordinator_partitions.ts";

const byLength = (key: string) => key.length;

Deno.test("CoordinatorPartitions: standalone serves every key and elects nothing", async () => {
  const parts = new CoordinatorPartitions(false, byLength);
  strictEqual(parts.ownership("any"), ErrorCode.NONE);
  strictEqual(
    await parts.elect(3, () => Promise.resolve(true), () => Promise.resolve(1)),
    undefined,
  );
});

Deno.test("CoordinatorPartitions: loading, then served once applied; a resignation during the wait wins", async () => {
  const parts = new CoordinatorPartitions(true, byLength);
  let caughtUp: (v: boolean) => void = () => {};
  const electing = parts.elect(
    1,
    () => new Promise<boolean>((r) => caughtUp = r),
    () => Promise.resolve("records"),
  );
  strictEqual(parts.ownership("a"), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  strictEqual(parts.resign(1), true);
  strictEqual(parts.ownership("a"), ErrorCode.NOT_COORDINATOR);
  caughtUp(true);
  strictEqual(await electing, undefined);
  assertEquals(parts.owned, []);

  const loaded = await parts.elect(1, () => Promise.resolve(true), () => Promise.resolve("r"));
  strictEqual(loaded?.records, "r");
  strictEqual(parts.ownership("a"), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, "until served");
  loaded!.serve();
  strictEqual(parts.ownership("a"), ErrorCode.NONE);
  strictEqual(parts.serves(1), true);
  strictEqual(
    await parts.elect(1, () => Promise.resolve(true), () => Promise.resolve("x")),
    undefined,
  );
});

Deno.test("CoordinatorPartitions: a newer election supersedes an older one; a failed read is not loading", async () => {
  const parts = new CoordinatorPartitions(true, byLength);
  let first: (v: boolean) => void = () => {};
  const older = parts.elect(
    2,
    () => new Promise<boolean>((r) => first = r),
    () => Promise.resolve(1),
  );
  const newer = parts.elect(2, () => Promise.resolve(true), () => Promise.resolve(2));
  first(true);
  strictEqual(await older, undefined);
  strictEqual((await newer)?.records, 2);
  parts.resign(2);
  await rejects(
    parts.elect(2, () => Promise.resolve(true), () => Promise.reject(new Error("read failed"))),
    /read failed/,
  );
  strictEqual(parts.ownership("ab"), ErrorCode.NOT_COORDINATOR);
  // not caught up (leadership lost): given up
  strictEqual(
    await parts.elect(2, () => Promise.resolve(false), () => Promise.resolve(3)),
    undefined,
  );
  strictEqual(parts.ownership("ab"), ErrorCode.NOT_COORDINATOR);
});
