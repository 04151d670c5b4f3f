// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The load tool's chart, as dependency-free SVG: producer and consumer throughput per workload as
 * grouped bars (one per client), and end-to-end latency percentiles on a log scale.
 *
 * @module
 */

import type { E2eReport } from "./run.ts";

/** One series of bars. */
export interface Series {
  /** Legend label. */
  label: string;
  /** Fill colour. */
  color: string;
}

/** A panel of grouped bars. */
export interface BarPanel {
  /** Title above the panel. */
  title: string;
  /** Group labels along the x axis. */
  groups: string[];
  /** Series, one bar each per group. */
  series: Series[];
  /** `values[group][series]`; missing or non-positive values draw no bar. */
  values: Array<Array<number | undefined>>;
  /** Logarithmic y axis. */
  log?: boolean;
}

const esc = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll(
    '"',
    "&quot;",
  );

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const label = (v: number) =>
  v >= 1000 ? `${(v / 1000).toLocaleString("en-US")}k` : Number(v.toPrecision(3)).toString();

/**
 * Draws panels stacked vertically.
 *
 * @example
 * ```ts
 * import { renderPanels } from "./chart.ts";
 * const svg = renderPanels([{
 *   title: "MB/s",
 *   groups: ["a"],
 *   series: [{ label: "x", color: "#333" }],
 *   values: [[1]],
 * }]);
 * console.log(svg.startsWith("<svg")); // true
 * ```
 *
 * @param panels The panels.
 * @param width Width in pixels. Default 960.
 * @returns An SVG document.
 */
export function renderPanels(panels: BarPanel[], width = 960): string {
  const panelH = 260, left = 70, right = 20, top = 40, bottom = 50;
  const out: string[] = [];
  let y0 = 0;
  for (const p of panels) {
    const plotW = width - left - right, plotH = panelH - top - bottom;
    const all = p.values.flat().filter((v): v is number => v !== undefined && v > 0);
    const max = niceMax(Math.max(...all, 0));
    const min = p.log ? 10 ** Math.floor(Math.log10(Math.min(...all, max))) : 0;
    const scale = (v: number) =>
      p.log
        ? (Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min) || 1)
        : v / max;
    out.push(`<g transform="translate(0,${y0})">`);
    out.push(
      `<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(p.title)}</text>`,
    );
    const ticks = p.log
      ? Array.from(
        { length: Math.round(Math.log10(max / min)) + 1 },
        (_, i) => min * 10 ** i,
      )
      : [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
    for (const t of ticks) {
      const y = top + plotH - scale(t) * plotH;
      out.push(
        `<line x1="${left}" x2="${width - right}" y1="${y.toFixed(1)}" y2="${
          y.toFixed(1)
        }" stroke="#ddd"/>`,
        `<text x="${left - 6}" y="${(y + 4).toFixed(1)}" font-size="11" text-anchor="end">${
          label(t)
        }</text>`,
      );
    }
    const groupW = plotW / Math.max(1, p.groups.length);
    const barW = Math.max(2, (groupW * 0.8) / Math.max(1, p.series.length));
    p.groups.forEach((g, gi) => {
      const gx = left + gi * groupW + groupW * 0.1;
      p.series.forEach((s, si) => {
        const v = p.values[gi]?.[si];
        if (v === undefined || !(v > 0)) return;
        const h = Math.max(1, scale(Math.max(v, min)) * plotH);
        out.push(
          `<rect x="${(gx + si * barW).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${
            (barW - 1).toFixed(1)
          }" height="${h.toFixed(1)}" fill="${s.color}"><title>${
            esc(`${g} ${s.label}: ${label(v)}`)
          }</title></rect>`,
        );
      });
      out.push(
        `<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${
          top + plotH + 16
        }" font-size="11" text-anchor="middle">${esc(g)}</text>`,
      );
    });
    let lx = left;
    for (const s of p.series) {
      out.push(
        `<rect x="${lx}" y="${top + plotH + 28}" width="10" height="10" fill="${s.color}"/>`,
        `<text x="${lx + 14}" y="${top + plotH + 37}" font-size="11">${esc(s.label)}</text>`,
      );
      lx += 20 + s.label.length * 6.5;
    }
    out.push("</g>");
    y0 += panelH;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y0}" ` +
    `viewBox="0 0 ${width} ${y0}" font-family="sans-serif">\n` +
    `<rect width="${width}" height="${y0}" fill="white"/>\n${out.join("\n")}\n</svg>\n`;
}

const CLIENT_COLORS: Record<string, string[]> = {
  rdkafka: ["#1f4e79", "#2e75b6", "#9dc3e6"],
  sluice: ["#833c0b", "#c55a11", "#f4b183"],
  kafkajs: ["#375623", "#70ad47", "#a9d18e"],
};

/**
 * The load tool's chart for a run: producer MB/s, consumer MB/s, latency percentiles.
 *
 * @param report A run.
 * @returns An SVG document.
 */
export function renderReportSvg(report: E2eReport): string {
  const workloads = [...new Set(report.results.map((r) => r.workload.name))];
  const clients = [...new Set(report.results.map((r) => r.client))];
  const get = (w: string, c: string) =>
    report.results.find((r) => r.workload.name === w && r.client === c && !r.error);
  const colors = (c: string) => CLIENT_COLORS[c] ?? ["#444", "#888", "#bbb"];
  const throughput = (title: string, pick: (w: string, c: string) => number | undefined) => ({
    title,
    groups: workloads,
    series: clients.map((c) => ({ label: c, color: colors(c)[1] })),
    values: workloads.map((w) => clients.map((c) => pick(w, c))),
  });
  const pcts = [["p50", "p50Us"], ["p99", "p99Us"], ["p99.9", "p999Us"]] as const;
  return renderPanels([
    throughput("Producer throughput, MB/s", (w, c) => get(w, c)?.produceMbPerSec),
    throughput("Consumer throughput from offset 0, MB/s", (w, c) => get(w, c)?.consumeMbPerSec),
    {
      title: "End-to-end latency, ms (log scale)",
      groups: workloads,
      series: clients.flatMap((c) =>
        pcts.map(([name], i) => ({ label: `${c} ${name}`, color: colors(c)[i] }))
      ),
      values: workloads.map((w) =>
        clients.flatMap((c) =>
          pcts.map(([, k]) => {
            const us = get(w, c)?.e2e?.[k];
            return us !== undefined && us > 0 ? us / 1000 : undefined;
          })
        )
      ),
      log: true,
    },
  ]);
}
