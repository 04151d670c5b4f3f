// Copyright 2026 the Sluice authors. Apache-2.0 license.
// A request that calls `overlap` (an acks=all Produce waiting for its in-sync replicas) lets the
// connection handle the next requests before it is answered: over real TCP, the responses still
// leave in request order, at most MAX_OVERLAPPED_REQUESTS wait at once, a request that does not
// overlap is handled strictly after the one before, and a handler that fails after overlapping
// closes the connection without answering the requests after it.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  CloseConnection,
  Connection,
  type FrameDispatcher,
  MAX_OVERLAPPED_REQUESTS,
} from "./connection.ts";
import { silentLogger } from "./logger.ts";

/** A frame of 4 bytes: the request number. */
function frame(n: number): Uint8Array {
  const out = new Uint8Array(8);
  const v = new DataView(out.buffer);
  v.setInt32(0, 4);
  v.setInt32(4, n);
  return out;
}

/** Serves one connection with `dispatch`; returns the client side and the serve promise. */
async function serve(
  dispatch: FrameDispatcher,
): Promise<{ client: Deno.TcpConn; served: Promise<void>; close(): Promise<void> }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = await Deno.connect({
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
  });
  const conn = new Connection(await accepted, 1, 1024, dispatch, silentLogger);
  listener.close();
  const served = conn.serve();
  return {
    client,
    served,
    async close() {
      try {
        client.close();
      } catch { /* closed */ }
      conn.close();
      await served;
    },
  };
}

/** Reads responses (4-byte frames holding a request number) until `count` or EOF. */
async function responses(client: Deno.Conn, count: number): Promise<number[]> {
  const got: number[] = [];
  const buf = new Uint8Array(8 * 64);
  let have = new Uint8Array(0);
  while (got.length < count) {
    const n = await client.read(buf);
    if (n === null) break;
    const all = new Uint8Array(have.length + n);
    all.set(have);
    all.set(buf.subarray(0, n), have.length);
    let p = 0;
    while (p + 8 <= all.length) {
      got.push(new DataView(all.buffer, p + 4, 4).getInt32(0));
      p += 8;
    }
    have = all.slice(p);
  }
  return got;
}

/** Resolves when `cond` holds (polling); the bound only protects against a hang. */
async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("overlap: later requests are handled while overlapped ones wait; responses leave in request order", async () => {
  const started: number[] = [];
  const release = new Map<number, () => void>();
  const dispatch: FrameDispatcher = async (f, _info, overlap) => {
    const n = new DataView(f.buffer, f.byteOffset).getInt32(0);
    started.push(n);
    if (n < 5) {
      // "appended", now waiting for the replicas
      overlap?.();
      await new Promise<void>((r) => release.set(n, r));
    }
    return [frame(n)];
  };
  const s = await serve(dispatch);
  try {
    for (let i = 0; i < 6; i++) await s.client.write(frame(i));
    // 0-4 wait, 5 is answered at once but its response waits for theirs
    await until("every request started", () => started.length === 6);
    assertEquals(started, [0, 1, 2, 3, 4, 5]);
    const reading = responses(s.client, 6);
    // answer them out of order: the responses still leave in request order
    for (const n of [4, 2, 0, 3, 1]) release.get(n)!();
    assertEquals(await reading, [0, 1, 2, 3, 4, 5]);
  } finally {
    for (const r of release.values()) r();
    await s.close();
  }
});

Deno.test("overlap: at most MAX_OVERLAPPED_REQUESTS wait; a request that does not overlap is handled after the one before", async () => {
  const started: number[] = [];
  const release = new Map<number, () => void>();
  let plainDone = 0;
  const dispatch: FrameDispatcher = async (f, _info, overlap) => {
    const n = new DataView(f.buffer, f.byteOffset).getInt32(0);
    started.push(n);
    if (n < 100) {
      overlap?.();
      await new Promise<void>((r) => release.set(n, r));
    } else {
      // not overlapped: the next request must not start before this one is done
      await new Promise((r) => setTimeout(r, 20));
      plainDone = n;
    }
    return [frame(n)];
  };
  const s = await serve(dispatch);
  try {
    const total = MAX_OVERLAPPED_REQUESTS + 2;
    for (let i = 0; i < total; i++) await s.client.write(frame(i));
    await until("the first requests started", () => started.length === MAX_OVERLAPPED_REQUESTS);
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(started.length, MAX_OVERLAPPED_REQUESTS, "no more than the bound wait at once");
    release.get(0)!();
    await until("one more started", () => started.length === MAX_OVERLAPPED_REQUESTS + 1);
    release.get(1)!();
    await until("all started", () => started.length === total);
    await s.client.write(frame(100));
    await s.client.write(frame(101));
    const reading = responses(s.client, total + 2);
    for (let i = 2; i < total; i++) release.get(i)!();
    const got = await reading;
    assertEquals(got, [...Array.from({ length: total }, (_, i) => i), 100, 101]);
    assertEquals(started.slice(-2), [100, 101]);
    ok(plainDone === 101);
  } finally {
    for (const r of release.values()) r();
    await s.close();
  }
});

Deno.test("overlap: a handler failing after it overlapped closes the connection; nothing after it is answered", async () => {
  const release = new Map<number, () => void>();
  const dispatch: FrameDispatcher = async (f, _info, overlap) => {
    const n = new DataView(f.buffer, f.byteOffset).getInt32(0);
    if (n === 1) {
      overlap?.();
      await new Promise<void>((r) => release.set(n, r));
      throw new CloseConnection("refused after overlapping");
    }
    return [frame(n)];
  };
  const s = await serve(dispatch);
  try {
    for (const n of [0, 1, 2]) await s.client.write(frame(n));
    await until("request 1 waits", () => release.has(1));
    const reading = responses(s.client, 3);
    release.get(1)!();
    assertEquals(await reading, [0]);
    await s.served;
  } finally {
    await s.close();
  }
});
