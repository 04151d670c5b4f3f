// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The file storage of server/document_store.ts (quotas, SCRAM credentials and ACLs use it): a
// change replaces the file by a rename (a reader never sees half a document), a failed write
// changes nothing, and an unreadable file is a message naming it.

import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { type DocumentFormat, FileDocumentStorage } from "./document_store.ts";

interface Doc {
  items: string[];
}

const FORMAT: DocumentFormat<Doc> = {
  what: "items",
  empty: () => ({ items: [] }),
  parse(text) {
    const parsed = JSON.parse(text) as Partial<Doc>;
    if (!Array.isArray(parsed.items)) throw new Error("no items");
    return { items: parsed.items };
  },
  serialize: (doc) => JSON.stringify(doc) + "\n",
  copy: (doc) => ({ items: [...doc.items] }),
};

Deno.test("document file: a change replaces the file by a rename; an old reader reads the whole old document", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/doc.json`;
    const storage = new FileDocumentStorage(path, FORMAT);
    assertEquals(await storage.load(), { items: [] });
    await storage.update((d) => ({ items: [...d.items, "a"] }));
    const before = await Deno.stat(path);
    using old = await Deno.open(path, { read: true });
    await storage.update((d) => {
      d.items.push("b".repeat(10_000));
      return d;
    });
    // a new file took the name; whoever had the old one open still reads all of it
    const after = await Deno.stat(path);
    assertEquals(after.ino === before.ino, false);
    const buf = new Uint8Array(64);
    const n = await old.read(buf);
    assertEquals(new TextDecoder().decode(buf.subarray(0, n ?? 0)), '{"items":["a"]}\n');
    // nothing else is left in the directory, and a new storage reads what was written
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["doc.json"]);
    assertEquals((await new FileDocumentStorage(path, FORMAT).load()).items.length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("document file: a write that fails changes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = new FileDocumentStorage(`${dir}/sub/doc.json`, FORMAT);
    await Deno.mkdir(`${dir}/sub`);
    await storage.load();
    await storage.update(() => ({ items: ["kept"] }));
    await Deno.remove(`${dir}/sub`, { recursive: true });
    await rejects(storage.update(() => ({ items: ["lost"] })), Deno.errors.NotFound);
    await Deno.mkdir(`${dir}/sub`);
    let seen: Doc | undefined;
    await storage.update((d) => (seen = d));
    assertEquals(seen, { items: ["kept"] });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("document file: a missing file is the empty document; a corrupt one a message naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/doc.json`;
    assertEquals(await new FileDocumentStorage(path, FORMAT).load(), { items: [] });
    await Deno.writeTextFile(path, '{"other": 1}');
    await rejects(new FileDocumentStorage(path, FORMAT).load(), {
      message: `cannot read ${path}: no items`,
    });
    await rejects(
      new FileDocumentStorage(path, { ...FORMAT, fileErrorNamesWhat: true }).load(),
      { message: `cannot read items from ${path}: no items` },
    );
    await Deno.writeTextFile(path, "{");
    await rejects(new FileDocumentStorage(path, FORMAT).load(), (e: Error) => {
      return e.message.startsWith(`cannot read ${path}: `) && e instanceof SyntaxError === false;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
