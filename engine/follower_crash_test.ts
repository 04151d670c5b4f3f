// Follower appends under SIGKILL, at the sizes a replica sees: tens of MiB fetched from a leader
// in 1 MiB groups, in the default (1 GiB) segment and in small segments that roll. After each
// kill the log must be a prefix of the leader's batches ending at a batch boundary at or after
// the last acknowledged append, byte for byte, with the leader's epochs, producer state,
// transactions in progress and aborted transactions; the high watermark must come back from
// replication-offset-checkpoint within the log; and the follower must carry on from there.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { nextOffsetAfter } from "../records/mod.ts";
import { LogManager, type PartitionLog } from "./mod.ts";
import { ProducerStateManager } from "./producer_state.ts";
import { leaderStream } from "./testdata/leader_stream.ts";
import { bytesEqual } from "./testdata/helpers.ts";

const CHILD = new URL("./testdata/follower_child.ts", import.meta.url).pathname;
const SEED = 7;
const TOTAL = 30 << 20;
const FETCH = 1 << 20;
const TS = Date.now();

/** Everything the follower log must hold when its end offset is `leo`. */
function expected(leo: number) {
  const parts: Uint8Array[] = [];
  const epochs: { epoch: number; startOffset: number }[] = [];
  let size = 0;
  for (const b of leaderStream(SEED, TS)) {
    if (b.baseOffset >= leo) {
      strictEqual(b.baseOffset, leo, `log end ${leo} is not a batch boundary`);
      break;
    }
    if (b.epoch > (epochs.at(-1)?.epoch ?? -1)) {
      epochs.push({ epoch: b.epoch, startOffset: b.baseOffset });
    }
    parts.push(b.bytes);
    size += b.bytes.length;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  const state = new ProducerStateManager("/nonexistent");
  const aborted = state.replay(bytes);
  return { bytes, epochs, state, aborted };
}

async function storedBytes(log: PartitionLog): Promise<Uint8Array> {
  const out = new Uint8Array(log.sizeInBytes);
  let at = 0;
  let off = log.logStartOffset;
  while (off < log.logEndOffset) {
    const r = await log.read(off, 4 << 20, { maxOffset: log.logEndOffset });
    ok(r.records.length > 0, `nothing at ${off}`);
    out.set(r.records, at);
    at += r.records.length;
    off = nextOffsetAfter(r.records)!;
  }
  strictEqual(at, out.length);
  return out;
}

for (
  const [name, segmentBytes, flush, kills] of [
    ["the default (1 GiB) segment", 1 << 30, "9223372036854775807", [6, 15, 24]],
    ["8 MiB segments, fsync before ack", 8 << 20, "1", [5, 13, 22]],
  ] as const
) {
  Deno.test(`follower crash: SIGKILL while copying 30 MiB into ${name}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "sluice-follower-crash-" });
    try {
      for (const killMiB of [...kills, Infinity]) {
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-read",
            "--allow-write",
            CHILD,
            dir,
            String(SEED),
            String(TOTAL),
            String(FETCH),
            String(segmentBytes),
            flush,
            String(TS),
          ],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        let acked = -1;
        let checkpointed = -1;
        let pending = "";
        let killed = false;
        let done = false;
        for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
          pending += chunk;
          const lines = pending.split("\n");
          pending = lines.pop()!;
          for (const line of lines) {
            const ack = /^ACK (\d+) (\d+)$/.exec(line);
            const hwcp = /^HWCP (\d+)$/.exec(line);
            if (ack) acked = Number(ack[1]);
            if (hwcp) checkpointed = Number(hwcp[1]);
            if (line.startsWith("DONE")) done = true;
            ok(!line.startsWith("ERROR"), line);
            if (!killed && (done || (ack && Number(ack[2]) >= killMiB * (1 << 20)))) {
              child.kill("SIGKILL");
              killed = true;
            }
          }
        }
        const status = await child.status;
        const stderr = await new Response(child.stderr).text();
        ok(killed, `child exited by itself (${status.code}): ${stderr}`);
        ok(acked > 0, `no append acknowledged: ${stderr}`);
        const mgr = await LogManager.open(dir, {
          retentionCheckIntervalMs: 0,
          cleanerBackoffMs: 0,
        });
        try {
          strictEqual(mgr.hadCleanShutdown, false);
          const log = mgr.partition("f", 0)!;
          const leo = log.logEndOffset;
          ok(leo >= acked, `log end ${leo} is below the acknowledged ${acked}`);
          const want = expected(leo);
          const got = await storedBytes(log);
          ok(bytesEqual(got, want.bytes), `the log differs from the leader's ${got.length} bytes`);
          deepStrictEqual(log.leaderEpochEntries(), want.epochs);
          deepStrictEqual(log.producerStates(), want.state.producerStates());
          deepStrictEqual(log.ongoingTransactions(), want.state.ongoingTransactions());
          deepStrictEqual(log.abortedTransactions(0, leo), want.aborted);
          log.enableReplication();
          ok(log.highWatermark <= leo, `HW ${log.highWatermark} above the log end ${leo}`);
          ok(
            log.highWatermark >= checkpointed,
            `HW ${log.highWatermark} below the last checkpoint ${checkpointed}`,
          );
          if (done) ok(log.sizeInBytes >= TOTAL, `${log.sizeInBytes} bytes`);
        } finally {
          await mgr.close();
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
