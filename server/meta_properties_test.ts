// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { loadOrCreateMetaProperties, META_PROPERTIES_FILE } from "./meta_properties.ts";

Deno.test("meta.properties: generated once, then reused; mismatches are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await loadOrCreateMetaProperties(dir, { nodeId: 3, clusterId: "" });
    assertEquals(first.clusterId.length, 22);
    assertEquals(first.nodeId, 3);
    const text = await Deno.readTextFile(`${dir}/${META_PROPERTIES_FILE}`);
    assertEquals(text.includes(`cluster.id=${first.clusterId}\n`), true);
    assertEquals(text.includes("node.id=3\n"), true);
    assertEquals(await loadOrCreateMetaProperties(dir, { nodeId: 3, clusterId: "" }), first);
    await rejects(
      loadOrCreateMetaProperties(dir, { nodeId: 4, clusterId: "" }),
      /belongs to node 3, not 4/,
    );
    await rejects(
      loadOrCreateMetaProperties(dir, { nodeId: 3, clusterId: "other" }),
      new RegExp(`belongs to cluster ${first.clusterId}, not other`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("meta.properties: a configured cluster id is stored", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const meta = await loadOrCreateMetaProperties(dir, { nodeId: 1, clusterId: "my-cluster" });
    assertEquals(meta, { clusterId: "my-cluster", nodeId: 1 });
    await Deno.writeTextFile(`${dir}/${META_PROPERTIES_FILE}`, "version=1\n");
    await rejects(
      loadOrCreateMetaProperties(dir, { nodeId: 1, clusterId: "" }),
      /lacks cluster.id or node.id/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
