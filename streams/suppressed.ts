// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * {@linkcode Suppressed} and {@linkcode BufferConfig}: how `KTable.suppress` holds a
 * windowed table's updates back (Kafka's `Suppressed.untilWindowCloses`).
 *
 * @module
 */

/**
 * How many updates a suppression may hold. Final results cannot be emitted early, so a full
 * buffer stops the instance (Kafka's `StrictBufferConfig` with `shutDownWhenFull`).
 *
 * @example
 * ```ts
 * import { BufferConfig } from "./suppressed.ts";
 * console.assert(BufferConfig.maxRecords(1000).maxRecords === 1000);
 * console.assert(BufferConfig.unbounded().maxRecords === Infinity);
 * ```
 */
export class BufferConfig {
  /** The most windows held at once (`Infinity`: unbounded). */
  readonly maxRecords: number;

  private constructor(maxRecords: number) {
    this.maxRecords = maxRecords;
  }

  /**
   * No limit but memory (Kafka's `BufferConfig.unbounded()`).
   *
   * @returns The buffer configuration.
   */
  static unbounded(): BufferConfig {
    return new BufferConfig(Infinity);
  }

  /**
   * At most `maxRecords` windows held; one more stops the instance with an error (Kafka's
   * `BufferConfig.maxRecords(n).shutDownWhenFull()`).
   *
   * @param maxRecords The limit, at least 1.
   * @returns The buffer configuration.
   * @throws {RangeError} If `maxRecords` is not a positive integer.
   */
  static maxRecords(maxRecords: number): BufferConfig {
    if (!Number.isSafeInteger(maxRecords) || maxRecords < 1) {
      throw new RangeError(
        `suppress buffer: maxRecords must be a positive integer, got ${maxRecords}`,
      );
    }
    return new BufferConfig(maxRecords);
  }
}

/**
 * What `KTable.suppress` holds back. Only Kafka's `untilWindowCloses` is offered:
 * each window's final result, once the window has closed.
 *
 * @example
 * ```ts
 * import { BufferConfig, Suppressed } from "./suppressed.ts";
 * const s = Suppressed.untilWindowCloses(BufferConfig.unbounded()).withName("final");
 * console.assert(s.name === "final");
 * ```
 */
export class Suppressed {
  /** The buffer's limit. */
  readonly buffer: BufferConfig;
  /** Names the processor and its store (`<name>-store`); default a generated name. */
  readonly name: string | undefined;

  private constructor(buffer: BufferConfig, name: string | undefined) {
    this.buffer = buffer;
    this.name = name;
  }

  /**
   * Forwards only the final result of each window of a windowed table: the window's last
   * value, once the suppression's stream time has reached the window's end + the grace period
   * of the windows that made the table.
   *
   * @param buffer The buffer's limit (default unbounded).
   * @returns The suppression.
   */
  static untilWindowCloses(buffer: BufferConfig = BufferConfig.unbounded()): Suppressed {
    return new Suppressed(buffer, undefined);
  }

  /**
   * The same suppression with a name (Kafka's `withName`).
   *
   * @param name The processor's name; its store is `<name>-store`.
   * @returns The named suppression.
   */
  withName(name: string): Suppressed {
    return new Suppressed(this.buffer, name);
  }
}
