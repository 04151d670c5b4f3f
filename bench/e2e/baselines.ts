// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * This machine's limits for the bytes of a workload, to read Sluice's figures against: loopback
 * TCP (a Deno sender here and a Deno receiver in another process) and sequential file writes with
 * and without an fsync per batch, all in batches of the same size the load tool's clients send.
 *
 * Run as `deno run -A bench/e2e/baselines.ts sink` it is the TCP receiver: it listens on a free
 * loopback port, prints it, reads one connection to its end and prints the byte count.
 *
 * @module
 */

/** One measured limit. */
export interface Baseline {
  /** Bytes moved. */
  bytes: number;
  /** Batch (write) size in bytes. */
  batchBytes: number;
  /** Seconds taken. */
  seconds: number;
  /** Megabytes (10^6 bytes) per second. */
  mbPerSec: number;
}

/**
 * The batch size the load tool uses for records of `size` bytes: as many records as fit in
 * 256 KiB (at least one, at most 2000).
 *
 * @param size Record value size.
 * @returns Batch size in bytes.
 */
export function batchBytesFor(size: number): number {
  return size * Math.max(1, Math.min(2000, Math.floor(262_144 / size)));
}

function batchOf(bytes: number): Uint8Array {
  const b = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) b[i] = 97 + (i % 26);
  return b;
}

async function readLine(reader: ReadableStreamDefaultReader<string>, state: { buf: string }) {
  while (!state.buf.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`loopback TCP: receiver ended early: ${state.buf.trim()}`);
    state.buf += value;
  }
  const nl = state.buf.indexOf("\n");
  const line = state.buf.slice(0, nl);
  state.buf = state.buf.slice(nl + 1);
  return line;
}

/**
 * Sends `bytes` over loopback TCP in writes of `batchBytes` to a receiver process and times it
 * until the receiver has read everything.
 *
 * @example
 * ```ts ignore
 * import { measureLoopbackTcp } from "./baselines.ts";
 * console.log((await measureLoopbackTcp(100_000_000, 262_100)).mbPerSec);
 * ```
 *
 * @param bytes Total bytes.
 * @param batchBytes Bytes per write.
 * @returns The measurement.
 * @throws {Error} If the receiver fails or reads a different byte count.
 */
export async function measureLoopbackTcp(bytes: number, batchBytes: number): Promise<Baseline> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "sink"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const state = { buf: "" };
  try {
    const port = Number(await readLine(reader, state));
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    const batch = batchOf(batchBytes);
    const start = performance.now();
    let left = bytes;
    while (left > 0) {
      const chunk = left >= batch.length ? batch : batch.subarray(0, left);
      let off = 0;
      while (off < chunk.length) off += await conn.write(chunk.subarray(off));
      left -= chunk.length;
    }
    await conn.closeWrite();
    const received = Number(await readLine(reader, state));
    const seconds = (performance.now() - start) / 1000;
    conn.close();
    if (received !== bytes) {
      throw new Error(`loopback TCP: receiver read ${received} bytes, expected ${bytes}`);
    }
    return { bytes, batchBytes, seconds, mbPerSec: bytes / 1e6 / seconds };
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    reader.cancel().catch(() => {});
  }
}

/**
 * Writes `bytes` sequentially to a new file in `dir` in writes of `batchBytes`, with an
 * `fdatasync` after every write when `fsync` is set. The file is removed afterwards unless `keep`
 * is set, in which case the file is synced (untimed, so that its writeback does not overlap what
 * runs next) and the caller removes `path` later.
 *
 * Where the page cache's pages come from matters a lot on a virtual machine that hands freed
 * memory back to its host (free page reporting, as this Firecracker VM does ~10 s after a page
 * is freed): writing into pages freed moments ago measured 3.8-5.2 GB/s here, into memory the
 * guest must fault in again 0.4-0.6 GB/s. A log keeps what it writes, so the load tool's
 * {@linkcode Baseline} for "sequential write" keeps its file too (`keep`) and is measured before
 * anything was freed nearby; {@linkcode measureFileRewrite} gives the just-freed figure.
 *
 * @example
 * ```ts ignore
 * import { measureFileWrite } from "./baselines.ts";
 * console.log((await measureFileWrite("/tmp", 100_000_000, 262_100, false)).mbPerSec);
 * ```
 *
 * @param dir Directory (use the broker's file system).
 * @param bytes Total bytes.
 * @param batchBytes Bytes per write.
 * @param fsync Whether to sync after every write.
 * @param keep Leave the file in place (its path is returned as `path`).
 * @returns The measurement, and the file's path.
 * @throws {Deno.errors.NotFound} If `dir` does not exist.
 */
export async function measureFileWrite(
  dir: string,
  bytes: number,
  batchBytes: number,
  fsync: boolean,
  keep = false,
): Promise<Baseline & { path: string }> {
  const path = `${dir}/sluice-e2e-write-${crypto.randomUUID()}.bin`;
  const batch = batchOf(batchBytes);
  const file = await Deno.open(path, { write: true, createNew: true });
  let kept = false;
  try {
    const start = performance.now();
    let left = bytes;
    while (left > 0) {
      const chunk = left >= batch.length ? batch : batch.subarray(0, left);
      let off = 0;
      while (off < chunk.length) off += await file.write(chunk.subarray(off));
      if (fsync) await file.syncData();
      left -= chunk.length;
    }
    const seconds = (performance.now() - start) / 1000;
    // Untimed: a kept file's dirty pages are written back now, not during the workloads.
    if (keep && !fsync) await file.syncData();
    kept = keep;
    return { bytes, batchBytes, seconds, mbPerSec: bytes / 1e6 / seconds, path };
  } finally {
    file.close();
    if (!kept) await Deno.remove(path).catch(() => {});
  }
}

/**
 * Sequential write (no fsync) into page-cache pages freed just before: writes and removes a
 * scratch file of the same size, then measures {@linkcode measureFileWrite} of a second one
 * (removed too). An upper bound that only short-lived files get, printed next to the kept-file
 * figure.
 *
 * @param dir Directory.
 * @param bytes Total bytes.
 * @param batchBytes Bytes per write.
 * @returns The second write's measurement.
 */
export async function measureFileRewrite(
  dir: string,
  bytes: number,
  batchBytes: number,
): Promise<Baseline> {
  await measureFileWrite(dir, bytes, batchBytes, false);
  const { path: _, ...b } = await measureFileWrite(dir, bytes, batchBytes, false);
  return b;
}

async function sink(): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(listener.addr.port);
  const conn = await listener.accept();
  const buf = new Uint8Array(1 << 20);
  let total = 0;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    total += n;
  }
  console.log(total);
  conn.close();
  listener.close();
}

if (import.meta.main && Deno.args[0] === "sink") await sink();
