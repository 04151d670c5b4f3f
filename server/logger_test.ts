// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { createLogger, formatLogLine } from "./logger.ts";

Deno.test("createLogger: one formatted line per event at or above the level", () => {
  const lines: string[] = [];
  const now = () => new Date(Date.UTC(2026, 10, 24, 19, 0, 0, 123));
  const log = createLogger({ level: "info", write: (l) => lines.push(l), now });
  log.debug("hidden");
  log.info("Sluice broker 1 listening on localhost:9092 (data in ./data)");
  log.warn("careful");
  log.error("broken");
  assertEquals(lines, [
    "[2026-11-24T19:00:00Z] INFO Sluice broker 1 listening on localhost:9092 (data in ./data)",
    "[2026-11-24T19:00:00Z] WARN careful",
    "[2026-11-24T19:00:00Z] ERROR broken",
  ]);
  const silent: string[] = [];
  const quiet = createLogger({ level: "silent", write: (l) => silent.push(l) });
  quiet.error("nothing");
  assertEquals(silent, []);
  assertEquals(formatLogLine(now(), "debug", "x"), "[2026-11-24T19:00:00Z] DEBUG x");
});

Deno.test("formatLogLine: control characters from clients cannot forge or split lines", () => {
  const at = new Date(Date.UTC(2026, 10, 24, 19));
  // A client software name with a newline (found by the protocol fuzzer) used to print a second
  // line that looked like the broker's own.
  const name = 'x"\n[2026-11-24T19:00:00Z] ERROR forged\r\u0000\u001b[31m\u007f\u2028';
  assertEquals(
    formatLogLine(at, "warn", `refused: invalid client software name "${name}"`),
    '[2026-11-24T19:00:00Z] WARN refused: invalid client software name "x"\\n' +
      '[2026-11-24T19:00:00Z] ERROR forged\\r\\u0000\\u001b[31m\\u007f\\u2028"',
  );
  assertEquals(
    formatLogLine(at, "info", "tab\tand é, 日本"),
    "[2026-11-24T19:00:00Z] INFO tab\tand é, 日本",
  );
});

Deno.test("JSON log lines: the text line's fields plus the logger, one line per event", () => {
  const lines: string[] = [];
  const log = createLogger({
    level: "info",
    format: "json",
    write: (l) => lines.push(l),
    now: () => new Date(Date.UTC(2026, 11, 5, 16, 0, 0, 123)),
  });
  log.debug("not written");
  log.error('client said "hi"\nFAKE LINE\u2028and\u001b[31m');
  assertEquals(lines.length, 1);
  assertEquals(lines[0].includes("\n") || lines[0].includes("\u2028"), false);
  assertEquals(JSON.parse(lines[0]), {
    time: "2026-12-05T16:00:00.123Z",
    level: "ERROR",
    logger: "sluice.broker",
    message: 'client said "hi"\nFAKE LINE\u2028and\u001b[31m',
  });
});
