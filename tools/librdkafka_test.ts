// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  buildKey,
  cachedLibrdkafka,
  checkIntegrity,
  CONFIGURE_FLAGS,
  LIBRDKAFKA,
} from "./librdkafka.ts";

Deno.test("the recipe pins the npm package, its integrity and every optional feature", async () => {
  assertEquals(LIBRDKAFKA.npmPackage, `@confluentinc/kafka-javascript@1.10.1`);
  assert(/^sha512-[A-Za-z0-9+/]{86}==$/.test(LIBRDKAFKA.integrity), LIBRDKAFKA.integrity);
  // configure must not pick features by what the machine happens to have
  for (const feature of ["zlib", "zstd", "lz4-ext", "ssl", "gssapi", "curl"]) {
    assert(
      CONFIGURE_FLAGS.some((f) => f === `--enable-${feature}` || f === `--disable-${feature}`),
      feature,
    );
  }
  assert(CONFIGURE_FLAGS.includes("--no-download"));
  assert((await buildKey()).startsWith(`librdkafka-${LIBRDKAFKA.version}-`));
});

Deno.test("a tarball that is not the pinned one is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_librdkafka_test_" });
  try {
    const path = `${dir}/${LIBRDKAFKA.tarball}`;
    await Deno.writeTextFile(path, "not the tarball");
    await checkIntegrity(path).then(
      () => assert(false, "accepted"),
      (e: Error) => {
        assert(e.message.startsWith(`${path}: integrity sha512-`), e.message);
        assert(e.message.endsWith(`is not ${LIBRDKAFKA.integrity} (${LIBRDKAFKA.npmPackage})`));
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a build without its completion stamp is not used", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_librdkafka_test_" });
  try {
    const prefix = `${dir}/${await buildKey()}`;
    await Deno.mkdir(`${prefix}/lib`, { recursive: true });
    await Deno.writeTextFile(`${prefix}/lib/librdkafka.so.1`, "");
    assertEquals(await cachedLibrdkafka(dir), null); // cut short: no stamp
    await Deno.writeTextFile(`${prefix}/.sluice-build-complete`, "{}");
    assertEquals(await cachedLibrdkafka(dir), {
      version: LIBRDKAFKA.version,
      prefix,
      libDir: `${prefix}/lib`,
      includeDir: `${prefix}/include`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
