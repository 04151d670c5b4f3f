// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `/metrics` scraped and parsed by a real Prometheus parser, for the tests of issue #15.
 *
 * @module
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { PYTHON, runCommand } from "./harness.ts";

/** The parser script: the Prometheus Python client's parsers (Debian python3-prometheus-client). */
export const PROMETHEUS_PARSER: string =
  new URL("./interop/clients/parse_metrics.py", import.meta.url).pathname;

/** A parsed exposition. */
export interface Scrape {
  /** Metric family name → type. */
  families: Record<string, string>;
  /** Every sample: name, labels, value. */
  samples: [string, Record<string, string>, number | "+Inf"][];
  /** The value of the one sample of `name` with exactly these labels (undefined: none). */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Every sample of `name` whose labels include `labels`. */
  all(name: string, labels?: Record<string, string>): [Record<string, string>, number][];
}

/**
 * Fetch `/metrics` from an admin listener on 127.0.0.1 and parse it with the Prometheus Python
 * client's parser for the format (which fails on anything the format does not allow).
 *
 * @param port The admin listener's port.
 * @param format The format to ask for.
 * @returns The parsed exposition.
 */
export async function scrape(
  port: number,
  format: "text" | "openmetrics" = "text",
): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: format === "openmetrics"
      ? { accept: "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5" }
      : {},
  });
  const body = await res.text();
  assertEquals(res.status, 200, body);
  assertEquals(
    res.headers.get("content-type"),
    format === "openmetrics"
      ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
      : "text/plain; version=0.0.4; charset=utf-8",
  );
  const r = await runCommand(PYTHON, [PROMETHEUS_PARSER, format], {
    stdin: body,
    timeoutMs: 30_000,
  });
  const parsed = JSON.parse(r.stdout || `{"error":${JSON.stringify(r.stderr)}}`);
  if (r.code !== 0) throw new Error(`parse ${format} exposition: ${parsed.error}\n${body}`);
  const match = (l: Record<string, string>, want: Record<string, string>) =>
    Object.entries(want).every(([k, v]) => l[k] === v);
  const samples: Scrape["samples"] = parsed.samples;
  return {
    families: parsed.families,
    samples,
    value(name, labels = {}) {
      const hits = samples.filter(([n, l]) =>
        n === name && Object.keys(l).length === Object.keys(labels).length && match(l, labels)
      );
      if (hits.length > 1) {
        throw new Error(`${name} ${JSON.stringify(labels)}: ${hits.length} samples`);
      }
      const v = hits[0]?.[2];
      return v === "+Inf" ? Infinity : v;
    },
    all(name, labels = {}) {
      return samples.filter(([n, l]) => n === name && match(l, labels))
        .map(([, l, v]) => [l, v === "+Inf" ? Infinity : v]);
    },
  };
}
