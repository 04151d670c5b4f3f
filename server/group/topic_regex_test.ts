// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Topic regexes in RE2's syntax: what matches (whole names), what RE2 refuses and why.
import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { compileTopicRegex, TopicRegexError } from "./topic_regex.ts";

const NAMES = ["orders", "orders-eu", "Orders-US", "my-orders", "payments.v1", "a{b", "x1_y"];

Deno.test("topic regex: whole names match, in RE2's syntax", () => {
  const cases: [string, string[]][] = [
    // librdkafka sends subscribe(["^orders.*"]) as "(^orders.*)"
    ["(^orders.*)", ["orders", "orders-eu"]],
    ["orders", ["orders"]], // whole names: no partial match
    ["(?i)orders-.*", ["orders-eu", "Orders-US"]],
    ["(?i:ORDERS)-eu|x.*", ["orders-eu", "x1_y"]],
    ["((?i)orders)-us|nothing", []], // the flag ends with its group
    ["orders(-eu)?", ["orders", "orders-eu"]],
    ["[[:alpha:]]+\\.v\\d", ["payments.v1"]],
    ["\\Qpayments.v1\\E", ["payments.v1"]],
    ["payments\\.v[^0-9]", []],
    ["[^[:punct:]]+", ["orders"]],
    ["\\pL+", ["orders"]],
    ["\\p{Lu}.*", ["Orders-US"]],
    ["a{b", ["a{b"]], // a lone { is a literal in RE2
    ["a\\x7bb", ["a{b"]],
    ["a\\173b", ["a{b"]],
    ["\\w+", ["orders", "x1_y"]],
    ["\\Aorders\\z", ["orders"]],
    ["\\borders\\b.*", ["orders", "orders-eu"]],
    ["(?P<x>my)-(?<y>orders)", ["my-orders"]],
    ["o{1,2}rders.*?", ["orders", "orders-eu"]],
    ["orders-[a-z]{2}", ["orders-eu"]],
    ["orders-[a-f]{2}", []],
    ["", []],
    [".*", NAMES],
  ];
  for (const [pattern, want] of cases) {
    const re = compileTopicRegex(pattern);
    assertEquals(NAMES.filter((n) => re.matches(n)), want, pattern);
  }
});

Deno.test("topic regex: RE2's refusals, with RE2's descriptions", () => {
  const cases: [string, string, string][] = [
    ["(a", "missing closing )", "missing closing ): `(a`"],
    ["a)", "unexpected )", "unexpected ): `a)`"],
    ["[a", "missing closing ]", "missing closing ]: `[a`"],
    ["a**", "invalid nested repetition operator", "invalid nested repetition operator: `**`"],
    [
      "*a",
      "missing argument to repetition operator",
      "missing argument to repetition operator: `*`",
    ],
    ["\\1", "invalid escape sequence", "invalid escape sequence: `\\1`"],
    ["\\y", "invalid escape sequence", "invalid escape sequence: `\\y`"],
    ["(?=a)", "invalid or unsupported Perl syntax", "invalid or unsupported Perl syntax: `(?=`"],
    ["(?<!a)b", "invalid or unsupported Perl syntax", "invalid or unsupported Perl syntax: `(?<!`"],
    ["(?P=n)", "invalid or unsupported Perl syntax", "invalid or unsupported Perl syntax: `(?P=`"],
    ["a{1001}", "invalid repeat count", "invalid repeat count: `{1001}`"],
    ["a{3,2}", "invalid repeat count", "invalid repeat count: `{3,2}`"],
    ["[z-a]", "invalid character class range", "invalid character class range: `z-a`"],
    [
      "\\p{Klingon}",
      "invalid character class range",
      "invalid character class range: `\\p{Klingon}`",
    ],
    [
      "a\\",
      "trailing backslash at end of expression",
      "trailing backslash at end of expression: ``",
    ],
    ["(a{1000}){1000}", "expression too large", "expression too large"],
  ];
  for (const [pattern, description, detail] of cases) {
    assertThrows(() => compileTopicRegex(pattern), (e: unknown) => {
      assertEquals(e instanceof TopicRegexError, true, pattern);
      const err = e as TopicRegexError;
      assertEquals([err.description, err.message], [
        description,
        `error parsing regexp: ${detail}`,
      ]);
      return true;
    });
  }
});

Deno.test("topic regex: deep nesting and random patterns end in a match or a TopicRegexError", () => {
  assertThrows(
    () => compileTopicRegex("(".repeat(5000) + "a" + ")".repeat(5000)),
    (e: unknown) => e instanceof TopicRegexError && e.description === "expression nests too deeply",
  );
  assertEquals(compileTopicRegex("(".repeat(999) + "a" + ")".repeat(999)).matches("a"), true);
  // a fixed-seed generator: no other exception than TopicRegexError, whatever the pattern
  let seed = 848;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = "ab.-_()[]{}^$*+?|\\:PpQEdDwWsSxz0123456789,<>=!iUms";
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const len = Math.floor(next() * 12);
    let p = "";
    for (let j = 0; j < len; j++) p += alphabet[Math.floor(next() * alphabet.length)];
    try {
      const re = compileTopicRegex(p);
      for (const n of NAMES) re.matches(n);
    } catch (e) {
      if (!(e instanceof TopicRegexError)) throw new Error(`${JSON.stringify(p)}: ${e}`);
      refused++;
    }
  }
  assertEquals(refused > 0 && refused < 3000, true);
});

Deno.test("topic regex: matching takes time linear in the name (no backtracking)", () => {
  // a backtracking engine takes 2^249 steps here; RE2 (and this NFA) one pass
  const name = "a".repeat(249);
  assertEquals(compileTopicRegex("(a+)+b").matches(name), false);
  assertEquals(compileTopicRegex("(a|a)*b").matches(name), false);
  assertEquals(compileTopicRegex(".*.*.*.*.*.*.*.*b").matches(name), false);
  assertEquals(compileTopicRegex("(a*)*").matches(name), true);
});
