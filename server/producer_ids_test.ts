// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { PRODUCER_ID_BLOCK_FILE, ProducerIdManager } from "./producer_ids.ts";

Deno.test("ProducerIdManager hands out unique ids across restarts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ids = await ProducerIdManager.open(dir);
    // Concurrent calls share one block reservation and never repeat an id.
    const first = await Promise.all([ids.next(), ids.next(), ids.next()]);
    assertEquals(first, [0, 1, 2]);
    assertEquals(await Deno.readTextFile(`${dir}/${PRODUCER_ID_BLOCK_FILE}`), "1000\n");
    for (let i = 3; i < 1000; i++) assertEquals(await ids.next(), i);
    assertEquals(await ids.next(), 1000);
    assertEquals(await Deno.readTextFile(`${dir}/${PRODUCER_ID_BLOCK_FILE}`), "2000\n");
    const restarted = await ProducerIdManager.open(dir);
    assertEquals(await restarted.next(), 2000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ProducerIdManager refuses a corrupt block file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/${PRODUCER_ID_BLOCK_FILE}`, "banana\n");
    await rejects(ProducerIdManager.open(dir), /"banana" is not a number/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
