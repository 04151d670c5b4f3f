// Copyright 2026 the Sluice authors. Apache-2.0 license.

/** Severity of a log line, lowest first. `"silent"` as a threshold disables logging. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * Where the broker reports events: one call per event, one line per call.
 *
 * Pass your own to {@linkcode Broker.start} to capture or redirect the broker's log.
 */
export interface Logger {
  /** Detailed events (each connection, each refused request). */
  debug(message: string): void;
  /** Lifecycle events (listening, topic created, shutdown). */
  info(message: string): void;
  /** Something the operator should look at (unknown config key, refused version). */
  warn(message: string): void;
  /** A failure (malformed request, I/O error). */
  error(message: string): void;
}

const RANK: Record<LogLevel | "silent", number> = {
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
  silent: 4,
};

/**
 * How lines are written: `text` (`[time] LEVEL message`) or `json` (one JSON object per line
 * with the same fields, {@linkcode formatJsonLogLine}).
 */
export type LogFormat = "text" | "json";

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lowest level written; `"silent"` writes nothing. Default `"info"`. */
  level?: LogLevel | "silent";
  /** Line format. Default `"text"`. */
  format?: LogFormat;
  /**
   * The `logger` field of JSON lines (the component writing), default `"sluice.broker"`.
   * Text lines do not show it.
   */
  name?: string;
  /** Line sink; default writes the line plus `\n` to stderr. */
  write?: (line: string) => void;
  /** Clock used for the timestamp; default `() => new Date()`. */
  now?: () => Date;
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

// Line breaks and other control characters (tab excepted): a message quoting a client's string
// must stay one line, or the client could write lines that look like the broker's own.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f\u0085\u2028\u2029]/g;

function escapeControl(c: string): string {
  if (c === "\n") return "\\n";
  if (c === "\r") return "\\r";
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * Format one log line the way the broker writes it:
 * `[2026-11-24T19:00:00Z] INFO message`. Line breaks and other control characters in the message
 * are escaped (`\n`, `\u001b`), so one event is always one line.
 *
 * @example Format a line
 * ```ts
 * import { formatLogLine } from "./logger.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const line = formatLogLine(new Date(Date.UTC(2026, 10, 24, 19)), "info", "hello");
 * assertEquals(line, "[2026-11-24T19:00:00Z] INFO hello");
 * ```
 *
 * @param time When the event happened.
 * @param level Severity of the event.
 * @param message The event, one line.
 * @returns The formatted line, without a trailing newline.
 */
export function formatLogLine(time: Date, level: LogLevel, message: string): string {
  const stamp = time.toISOString().replace(/\.\d{3}Z$/, "Z");
  return `[${stamp}] ${level.toUpperCase()} ${message.replace(CONTROL, escapeControl)}`;
}

/**
 * Format one log line as JSON: `{"time":...,"level":"INFO","logger":...,"message":...}`, the
 * fields of {@linkcode formatLogLine}'s text line plus the component that wrote it. JSON's
 * escaping keeps every event on one line.
 *
 * @example Format a line
 * ```ts
 * import { formatJsonLogLine } from "./logger.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const line = formatJsonLogLine(new Date(Date.UTC(2026, 10, 24, 19)), "warn", "disk\nfull");
 * assertEquals(JSON.parse(line), {
 *   time: "2026-11-24T19:00:00.000Z",
 *   level: "WARN",
 *   logger: "sluice.broker",
 *   message: "disk\nfull",
 * });
 * ```
 *
 * @param time When the event happened.
 * @param level Severity of the event.
 * @param message The event.
 * @param logger The component that wrote it.
 * @returns The JSON object, without a trailing newline.
 */
export function formatJsonLogLine(
  time: Date,
  level: LogLevel,
  message: string,
  logger = "sluice.broker",
): string {
  // U+2028/U+2029 are valid in JSON strings but break line-oriented readers: escape them too
  return JSON.stringify({ time: time.toISOString(), level: level.toUpperCase(), logger, message })
    .replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/**
 * Create a {@linkcode Logger} that writes formatted lines at or above a level.
 *
 * @example Capture lines in memory
 * ```ts
 * import { createLogger } from "./logger.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const log = createLogger({ level: "warn", write: (l) => lines.push(l) });
 * log.info("not written");
 * log.warn("written");
 * assertEquals(lines.length, 1);
 * ```
 *
 * @param options Level, sink and clock.
 * @returns A logger.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = RANK[options.level ?? "info"];
  const write = options.write ?? writeStderr;
  const now = options.now ?? (() => new Date());
  const name = options.name ?? "sluice.broker";
  const format = options.format === "json"
    ? (t: Date, l: LogLevel, m: string) => formatJsonLogLine(t, l, m, name)
    : formatLogLine;
  const emit = (level: LogLevel) => (message: string): void => {
    if (RANK[level] >= threshold) write(format(now(), level, message));
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** A logger that discards everything; handy in tests. */
export const silentLogger: Logger = createLogger({ level: "silent" });
