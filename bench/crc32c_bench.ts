// Copyright 2026 the Sluice authors. Apache-2.0 license.
// CRC-32C: WASM (including the copy into WASM memory) vs the optimised TS slicing-by-8
// reference. Throughput = size / time per iteration (e.g. 16 MiB / 6.0 ms = 2.8 GB/s).
// Run: deno bench --allow-all bench/crc32c_bench.ts
import { crc32c } from "../wasm/mod.ts";
import { referenceCrc32c } from "../wasm/reference.ts";
import { seededRandom } from "../wasm/testing.ts";

const rnd = seededRandom(1);
const sizes: [string, number][] = [["1 KiB", 1024], ["64 KiB", 65536], ["16 MiB", 16 << 20]];

for (const [label, n] of sizes) {
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (rnd() * 256) | 0;
  if (crc32c(data) !== referenceCrc32c(data)) throw new Error(`crc32c mismatch at ${label}`);
  const group = `crc32c ${label}`;
  let sink = 0;
  Deno.bench({
    name: `TS slicing-by-8 ${label}`,
    group,
    baseline: true,
    fn: () => {
      sink ^= referenceCrc32c(data);
    },
  });
  Deno.bench({
    name: `WASM ${label} (incl. copy)`,
    group,
    fn: () => {
      sink ^= crc32c(data);
    },
  });
  globalThis.addEventListener("unload", () => {
    if (sink === 0.5) console.log(sink); // keep results alive
  });
}
