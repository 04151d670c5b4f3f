// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Sluice's native-speed core, compiled from AssemblyScript to WebAssembly: CRC-32C, Kafka
 * record batch v2 validation and framing, and sparse offset/time index search. The module is
 * embedded (base64) and instantiated synchronously at import, so it needs no permissions.
 *
 * @example Validate a buffer of record batches
 * ```ts
 * import { BatchStatus, scanBatches } from "./mod.ts";
 *
 * const scan = scanBatches(new Uint8Array(0));
 * console.assert(scan.status === BatchStatus.OK && scan.count === 0);
 * ```
 *
 * @module
 */

export {
  BatchStatus,
  batchStatusText,
  crc32c,
  OffsetIndexBuffer,
  scanBatches,
  TimeIndexBuffer,
} from "./core.ts";
export type { BatchScan, ScanOptions } from "./core.ts";
export type { BatchStatusCodes } from "./batch_status.ts";
