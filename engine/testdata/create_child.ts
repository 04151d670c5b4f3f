// Child process for the crash-during-creation test: creates topic `small` (1 partition, 3
// records, flushed), prints "ready", then creates topic `big` with N partitions, and is killed.
// Usage: deno run -A create_child.ts <dir> <N>
import { LogManager } from "../log_manager.ts";
import { makeBatch } from "./helpers.ts";

const [dir, n] = Deno.args;
const mgr = await LogManager.open(dir, {
  retentionCheckIntervalMs: 0,
  flushCheckpointIntervalMs: 0,
});
await mgr.createTopic("small", 1);
await mgr.partition("small", 0)!.append(makeBatch(3, 10, Date.now(), "small"));
await mgr.flush();
await Deno.stdout.write(new TextEncoder().encode("ready\n"));
await mgr.createTopic("big", Number(n));
await Deno.stdout.write(new TextEncoder().encode("done\n"));
await new Promise(() => {}); // wait for the kill
