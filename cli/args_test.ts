import assert from "node:assert/strict";
import {
  isTrue,
  parseFlags,
  parseIntFlag,
  parseKeyValues,
  unescapeSeparator,
  UsageError,
} from "./args.ts";

Deno.test("parseFlags() parses strings, booleans, repeats and negative numbers", () => {
  const { values } = parseFlags(
    ["--topic", "t", "--acks", "-1", "--property", "a=1", "--property", "b=2", "--list"],
    {
      topic: { type: "string" },
      acks: { type: "string" },
      property: { type: "string", multiple: true },
      list: { type: "boolean" },
    },
  );
  assert.deepEqual({ ...values }, {
    topic: "t",
    acks: "-1",
    property: ["a=1", "b=2"],
    list: true,
  });
});

Deno.test("parseFlags() turns parseArgs failures into one-line UsageErrors", () => {
  assert.throws(() => parseFlags(["--nope"], { topic: { type: "string" } }), {
    name: "UsageError",
    message: "Unknown option '--nope'",
  });
  assert.throws(() => parseFlags(["--topic"], { topic: { type: "string" } }), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /^Option '--topic <value>' argument missing/);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
  assert.throws(() => parseFlags(["stray"], {}), { name: "UsageError" });
});

Deno.test("parseKeyValues() builds a map and rejects entries without '='", () => {
  assert.deepEqual(parseKeyValues(["parse.key=true", "key.separator=:=", " x =y"], "--property"), {
    "parse.key": "true",
    "key.separator": ":=",
    "x": "y",
  });
  assert.deepEqual(parseKeyValues(undefined, "--config"), {});
  assert.throws(() => parseKeyValues(["novalue"], "--config"), {
    name: "UsageError",
    message: 'invalid --config "novalue": expected key=value',
  });
  assert.throws(() => parseKeyValues(["=v"], "--config"), { name: "UsageError" });
});

Deno.test("parseIntFlag() accepts integers at or above the minimum only", () => {
  assert.equal(parseIntFlag("3", "--partitions", 1), 3);
  assert.equal(parseIntFlag(undefined, "--partitions", 1), undefined);
  for (const bad of ["0", "1.5", "x", "", "99999999999999999999"]) {
    assert.throws(() => parseIntFlag(bad, "--partitions", 1), {
      name: "UsageError",
      message: `invalid --partitions "${bad}": expected an integer >= 1`,
    });
  }
});

Deno.test("isTrue() and unescapeSeparator() follow the console tools", () => {
  assert.equal(isTrue("TRUE"), true);
  assert.equal(isTrue("yes"), false);
  assert.equal(isTrue(undefined), false);
  assert.equal(unescapeSeparator("\\t"), "\t");
  assert.equal(unescapeSeparator("a\\nb\\\\"), "a\nb\\");
  assert.equal(unescapeSeparator(":"), ":");
});
