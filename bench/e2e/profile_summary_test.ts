// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { topSelfTime } from "./profile_summary.ts";

Deno.test("profile_summary: self time per function, most first", () => {
  const frame = (functionName: string, url: string, lineNumber: number) => ({
    functionName,
    url,
    lineNumber,
  });
  const top = topSelfTime({
    nodes: [
      { id: 1, callFrame: frame("(idle)", "", -1) },
      { id: 2, callFrame: frame("append", "file:///w/engine/segment.ts", 216) },
      { id: 3, callFrame: frame("", "file:///w/server/broker.ts", 9) },
      { id: 4, callFrame: frame("append", "file:///w/engine/segment.ts", 216) },
    ],
    samples: [1, 2, 3, 4, 2, 99],
    timeDeltas: [1000, 2000, 500, 1000, 1500, 7],
  }, 2);
  assert.deepEqual(top, [
    { name: "append (segment.ts:217)", ms: 4.5, share: 4500 / 6000 },
    { name: "(idle)", ms: 1, share: 1000 / 6000 },
  ]);
});
