/**
 * The exclusive lock on a data directory (Kafka's `.lock` file): taken before anything in the
 * directory is read or written, held until the log manager closes, so that a second broker (or
 * any second process) on the same directory stops at once and touches nothing.
 *
 * @module
 */

import { mkdirDurable } from "./checkpoint.ts";
import { EngineError, ErrorCode } from "./errors.ts";
import { LOCK_FILE } from "./names.ts";

/**
 * An exclusive, advisory `flock` on `<dir>/.lock`. The operating system releases it when the
 * process dies, so a SIGKILLed broker never leaves a stale lock behind.
 *
 * @example
 * ```ts
 * import { DataDirLock } from "./data_dir_lock.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const lock = await DataDirLock.acquire(dir);
 * let refused = false;
 * try {
 *   await DataDirLock.acquire(dir);
 * } catch {
 *   refused = true;
 * }
 * console.assert(refused);
 * lock.release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class DataDirLock {
  /** The locked directory. */
  readonly dir: string;
  #file: Deno.FsFile | undefined;

  private constructor(dir: string, file: Deno.FsFile) {
    this.dir = dir;
    this.#file = file;
  }

  /**
   * Creates the directory if needed and locks it. Requires `--allow-read` and `--allow-write`.
   *
   * @param dir Data directory.
   * @returns The held lock.
   * @throws {EngineError} KAFKA_STORAGE_ERROR if another process holds the lock or the lock file
   * cannot be opened.
   */
  static async acquire(dir: string): Promise<DataDirLock> {
    const path = `${dir}/${LOCK_FILE}`;
    let file: Deno.FsFile;
    try {
      await mkdirDurable(dir); // its entry in the parent must survive a power loss
      file = await Deno.open(path, { read: true, write: true, create: true });
    } catch (e) {
      throw new EngineError(
        ErrorCode.KAFKA_STORAGE_ERROR,
        `cannot lock data dir ${dir}: ${e instanceof Error ? e.message : e}`,
      );
    }
    let locked = false;
    try {
      locked = await file.tryLock(true);
    } catch (e) {
      file.close();
      throw new EngineError(
        ErrorCode.KAFKA_STORAGE_ERROR,
        `cannot lock data dir ${dir}: ${e instanceof Error ? e.message : e}`,
      );
    }
    if (!locked) {
      file.close();
      throw new EngineError(
        ErrorCode.KAFKA_STORAGE_ERROR,
        `data dir ${dir} is in use by another process (${path} is locked): ` +
          `is another broker running on it?`,
      );
    }
    return new DataDirLock(dir, file);
  }

  /** Whether the lock is still held. */
  get held(): boolean {
    return this.#file !== undefined;
  }

  /** Releases the lock (idempotent). */
  release(): void {
    const f = this.#file;
    this.#file = undefined;
    if (!f) return;
    try {
      f.unlockSync();
    } finally {
      f.close();
    }
  }
}
