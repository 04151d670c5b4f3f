// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The Prometheus text exposition formats: 0.0.4 (what Prometheus asks for by default) and
 * OpenMetrics 1.0.0 (when the scraper's `Accept` header names `application/openmetrics-text`).
 * They differ in three places: a counter family's `# TYPE`/`# HELP` name is the sample name
 * with `_total` in 0.0.4 and without it in OpenMetrics, OpenMetrics ends with `# EOF`, and the
 * content types.
 *
 * @module
 */

/** Content type of the 0.0.4 text format. */
export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** Content type of OpenMetrics 1.0.0. */
export const OPENMETRICS_CONTENT_TYPE =
  "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** A metric's type, as in `# TYPE`. */
export type MetricType = "counter" | "gauge" | "histogram";

/** One sample: its labels and value; `suffix` (`_bucket`, `_sum`, `_count`) for histograms. */
export interface Sample {
  /** Label pairs, in the order written. */
  labels: readonly (readonly [string, string])[];
  /** The value. */
  value: number;
  /** Histogram samples only: `_bucket`, `_sum` or `_count`. */
  suffix?: "_bucket" | "_sum" | "_count";
}

/** A metric family: its name (a counter's without `_total`), help text, type and samples. */
export interface MetricFamily {
  /** Family name; a counter's samples are written as `<name>_total`. */
  name: string;
  /** One line describing the metric. */
  help: string;
  /** The type. */
  type: MetricType;
  /** The samples. */
  samples: Sample[];
}

/** The exposition format to write. */
export type ExpositionFormat = "text" | "openmetrics";

/**
 * The format a scraper asks for in its `Accept` header: OpenMetrics if it names
 * `application/openmetrics-text` (as Prometheus does when it prefers it), else 0.0.4 text.
 *
 * @example
 * ```ts
 * import { negotiateFormat } from "./exposition.ts";
 *
 * console.log(negotiateFormat("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"));
 * // "openmetrics"
 * console.log(negotiateFormat(null)); // "text"
 * ```
 *
 * @param accept The request's `Accept` header, or `null`.
 * @returns The format to answer in.
 */
export function negotiateFormat(accept: string | null): ExpositionFormat {
  if (accept === null) return "text";
  for (const part of accept.split(",")) {
    const [type, ...params] = part.split(";").map((s) => s.trim());
    if (type.toLowerCase() !== "application/openmetrics-text") continue;
    const q = params.find((p) => p.startsWith("q="));
    if (q === undefined || Number(q.slice(2)) > 0) return "openmetrics";
  }
  return "text";
}

const LABEL_SPECIAL = /[\\"\n]/;

function escapeLabelValue(v: string): string {
  if (!LABEL_SPECIAL.test(v)) return v; // topic names, versions, numbers: nothing to escape
  return v.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

function escapeHelp(v: string): string {
  if (!/[\\\n]/.test(v)) return v;
  return v.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

function formatValue(v: number): string {
  if (Number.isFinite(v)) return `${v}`;
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/**
 * Write metric families in a text exposition format.
 *
 * @example
 * ```ts
 * import { writeExposition } from "./exposition.ts";
 *
 * const text = writeExposition([{
 *   name: "kafka_server_brokertopicmetrics_messagesin",
 *   help: "Records appended by producers",
 *   type: "counter",
 *   samples: [{ labels: [["topic", "orders"]], value: 3 }],
 * }], "text");
 * console.log(text.includes('kafka_server_brokertopicmetrics_messagesin_total{topic="orders"} 3'));
 * ```
 *
 * @param families The families; each name must be unique.
 * @param format `text` (0.0.4) or `openmetrics` (1.0.0).
 * @returns The exposition, ending with a line break.
 */
export function writeExposition(
  families: readonly MetricFamily[],
  format: ExpositionFormat,
): string {
  let out = "";
  for (const f of families) {
    const counter = f.type === "counter";
    const familyName = counter && format === "text" ? `${f.name}_total` : f.name;
    out += `# HELP ${familyName} ${escapeHelp(f.help)}\n# TYPE ${familyName} ${f.type}\n`;
    const sampleName = counter ? `${f.name}_total` : f.name;
    for (const s of f.samples) {
      out += s.suffix === undefined ? sampleName : f.name + s.suffix;
      const labels = s.labels;
      if (labels.length > 0) {
        out += "{";
        for (let i = 0; i < labels.length; i++) {
          if (i > 0) out += ",";
          out += labels[i][0] + '="' + escapeLabelValue(labels[i][1]) + '"';
        }
        out += "}";
      }
      out += " " + formatValue(s.value) + "\n";
    }
  }
  if (format === "openmetrics") out += "# EOF\n";
  return out;
}
