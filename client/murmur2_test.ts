import assert from "node:assert/strict";
import { murmur2, toPositive } from "./murmur2.ts";

const te = new TextEncoder();

// Hash values from Apache Kafka's UtilsTest.testMurmur2 (clients/src/test/.../UtilsTest.java).
const KAFKA_UTILS_TEST: ReadonlyArray<readonly [string | number[], number]> = [
  ["21", -973932308],
  ["foobar", -790332482],
  ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829],
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  [[0x61, 0x62, 0x63], 479470107],
];

Deno.test("murmur2() matches Kafka's UtilsTest vectors", () => {
  for (const [input, expected] of KAFKA_UTILS_TEST) {
    const bytes = typeof input === "string" ? te.encode(input) : new Uint8Array(input);
    assert.equal(murmur2(bytes), expected, `murmur2(${JSON.stringify(input)})`);
  }
});

Deno.test("murmur2() covers every tail length (values from Kafka's Utils.murmur2)", () => {
  // Lengths 1..5 exercise the 1-, 2-, 3-byte tails and a full block plus tail.
  const cases: Array<[string, number]> = [
    ["1", -1993445489],
    ["12", 126087238],
    ["123", -267702483],
    ["1234", -1614185708],
    ["12345", -1188365604],
  ];
  for (const [s, expected] of cases) assert.equal(murmur2(te.encode(s)), expected, s);
});

Deno.test("toPositive() clears the sign bit like Kafka's Utils.toPositive", () => {
  assert.equal(toPositive(-973932308), 1173551340);
  assert.equal(toPositive(479470107), 479470107);
  assert.equal(toPositive(-2147483648), 0);
  assert.equal(toPositive(-1), 2147483647);
});
