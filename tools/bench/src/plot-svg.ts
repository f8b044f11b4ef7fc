/**
 * The `--plot FILE` chart of a sweep: median time per call against the work of the call, both on log scales,
 * one line per implementation and thread count (solid: forward, dashed: forward + backward), min–max whiskers,
 * and faint diagonals of constant GFLOP/s, so a reader sees at once how cost grows with work and where an
 * implementation's efficiency changes. Plain SVG 1.1 written by hand: no dependency, viewable anywhere.
 */
import type { BenchRecord } from './records.js';
import { peerKey } from './records.js';
import type { Direction } from './shapes.js';

export interface PlotPoint {
  /** Work of one call, GFLOP. */
  readonly x: number;
  /** Median ms. */
  readonly y: number;
  readonly yMin: number;
  readonly yMax: number;
  /** Label of the swept value at this x (`32` for H=W=32). */
  readonly tag: string;
}

export interface PlotSeries {
  readonly name: string;
  /** Series with the same colour key share a colour (an implementation's forward and forward + backward). */
  readonly colorKey: string;
  readonly dashed: boolean;
  readonly points: readonly PlotPoint[];
}

export interface PlotSpec {
  readonly title: string;
  /** Lines under the title (machine, notes). */
  readonly subtitle: readonly string[];
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly PlotSeries[];
}

const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
  '#bcbd22', '#17becf', '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173', '#3182bd',
];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Ticks of a log axis over [lo, hi]: decades, plus 2 and 5 when the range spans few decades. */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  const span = Math.log10(hi / lo);
  const mults = span < 1.2 ? [1, 1.5, 2, 3, 5, 7] : span < 3.5 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of mults) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
    }
  }
  return ticks;
}

function tickLabel(v: number): string {
  if (v >= 1000 || v < 0.01) return v.toExponential(0).replace('e+', 'e');
  return String(Number(v.toPrecision(2)));
}

export function renderPlotSvg(spec: PlotSpec): string {
  const m = { left: 80, right: 250, top: 56 + 16 * spec.subtitle.length, bottom: 70 };
  const W = 960;
  // Tall enough for the legend, one line per series.
  const H = Math.max(600, m.top + 20 + spec.series.length * 20 + m.bottom);
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const pts = spec.series.flatMap((s) => s.points);
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${m.left}" y="28" font-size="17" font-weight="bold">${escapeXml(spec.title)}</text>`);
  spec.subtitle.forEach((line, i) => out.push(`<text x="${m.left}" y="${48 + 16 * i}" fill="#555555">${escapeXml(line)}</text>`));
  if (pts.length === 0) {
    out.push(`<text x="${m.left + pw / 2}" y="${m.top + ph / 2}" text-anchor="middle">no data</text>`);
    out.push('</svg>');
    return `${out.join('\n')}\n`;
  }
  const pad = 1.35;
  const xLo = Math.min(...pts.map((p) => p.x)) / pad;
  const xHi = Math.max(...pts.map((p) => p.x)) * pad;
  const yLo = Math.min(...pts.map((p) => p.yMin)) / pad;
  const yHi = Math.max(...pts.map((p) => p.yMax)) * pad;
  const sx = (x: number) => m.left + (Math.log10(x / xLo) / Math.log10(xHi / xLo)) * pw;
  const sy = (y: number) => m.top + ph - (Math.log10(y / yLo) / Math.log10(yHi / yLo)) * ph;
  const f = (v: number) => v.toFixed(1);

  // Grid and ticks.
  out.push(`<g stroke="#e6e6e6" stroke-width="1">`);
  for (const t of logTicks(xLo, xHi)) out.push(`<line x1="${f(sx(t))}" y1="${m.top}" x2="${f(sx(t))}" y2="${m.top + ph}"/>`);
  for (const t of logTicks(yLo, yHi)) out.push(`<line x1="${m.left}" y1="${f(sy(t))}" x2="${m.left + pw}" y2="${f(sy(t))}"/>`);
  out.push(`</g>`);
  out.push(`<g fill="#333333">`);
  for (const t of logTicks(xLo, xHi)) out.push(`<text x="${f(sx(t))}" y="${m.top + ph + 18}" text-anchor="middle">${tickLabel(t)}</text>`);
  for (const t of logTicks(yLo, yHi)) out.push(`<text x="${m.left - 8}" y="${f(sy(t) + 4)}" text-anchor="end">${tickLabel(t)}</text>`);
  out.push(`</g>`);

  // Diagonals of constant throughput: time_ms = GFLOP / (GFLOP/s) * 1000.
  out.push(`<defs><clipPath id="plot-area"><rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}"/></clipPath></defs>`);
  out.push(`<g clip-path="url(#plot-area)" stroke="#cfcfcf" stroke-width="1" stroke-dasharray="2,4" fill="#aaaaaa" font-size="10">`);
  for (let e = -3; e <= 4; e++) {
    const rate = 10 ** e;
    const y1 = (xLo / rate) * 1000;
    const y2 = (xHi / rate) * 1000;
    if (y2 < yLo || y1 > yHi) continue;
    out.push(`<line x1="${f(sx(xLo))}" y1="${f(sy(y1))}" x2="${f(sx(xHi))}" y2="${f(sy(y2))}"/>`);
    // Label where the diagonal leaves the plot on the right or at the top.
    const xr = Math.min(xHi, (yHi / 1000) * rate);
    out.push(`<text x="${f(sx(xr) - 4)}" y="${f(sy((xr / rate) * 1000) + 12)}" text-anchor="end" stroke="none">${tickLabel(rate)} GFLOP/s</text>`);
  }
  out.push(`</g>`);

  // Axes.
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333333" stroke-width="1"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 22}" text-anchor="middle" font-size="13">${escapeXml(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(22 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13">${escapeXml(spec.yLabel)}</text>`);

  // Swept values above the plot, at their x.
  const tags = new Map<number, string>();
  for (const p of pts) if (!tags.has(p.x)) tags.set(p.x, p.tag);
  out.push(`<g fill="#555555" font-size="11">`);
  for (const [x, tag] of tags) out.push(`<text x="${f(sx(x))}" y="${m.top - 6}" text-anchor="middle">${escapeXml(tag)}</text>`);
  out.push(`</g>`);

  // Series.
  const colorKeys = [...new Set(spec.series.map((s) => s.colorKey))];
  spec.series.forEach((s, i) => {
    const color = PALETTE[colorKeys.indexOf(s.colorKey) % PALETTE.length];
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    out.push(`<g stroke="${color}" fill="${color}">`);
    for (const p of sorted) out.push(`<line x1="${f(sx(p.x))}" y1="${f(sy(p.yMin))}" x2="${f(sx(p.x))}" y2="${f(sy(p.yMax))}" stroke-width="1" opacity="0.6"/>`);
    if (sorted.length > 1) {
      const d = sorted.map((p, j) => `${j === 0 ? 'M' : 'L'}${f(sx(p.x))},${f(sy(p.y))}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke-width="2"${s.dashed ? ' stroke-dasharray="7,4"' : ''}/>`);
    }
    for (const p of sorted) out.push(`<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="3.5"/>`);
    out.push(`</g>`);
    // Legend entry.
    const ly = m.top + 10 + i * 20;
    const lx = m.left + pw + 18;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="7,4"' : ''}/>`);
    out.push(`<circle cx="${lx + 13}" cy="${ly}" r="3.5" fill="${color}"/>`);
    out.push(`<text x="${lx + 34}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Series of a sweep's records: one per implementation, thread count and direction. */
export function sweepSeries(records: readonly BenchRecord[], tagOf: (r: BenchRecord) => string, implOrder: readonly string[]): PlotSeries[] {
  const groups = new Map<string, { direction: Direction; impl: string; threads: number; points: PlotPoint[] }>();
  for (const r of records) {
    const key = `${peerKey(r)} ${r.direction}`;
    if (!groups.has(key)) groups.set(key, { direction: r.direction, impl: r.impl, threads: r.threads, points: [] });
    // x is the problem size, the forward's work, in both directions: a shape's two points share an x.
    const x = r.direction === 'fwdbwd' ? r.gflop / 3 : r.gflop;
    groups.get(key)!.points.push({ x, y: r.median_ms, yMin: r.min_ms, yMax: r.max_ms, tag: tagOf(r) });
  }
  const order = (impl: string) => {
    const i = implOrder.indexOf(impl);
    return i < 0 ? implOrder.length : i;
  };
  return [...groups.values()]
    .sort((a, b) => (a.direction === b.direction ? 0 : a.direction === 'fwd' ? -1 : 1) || order(a.impl) - order(b.impl) || a.threads - b.threads)
    .map((g) => ({
      name: `${g.impl} ${g.threads}t${g.direction === 'fwdbwd' ? ' fwd+bwd' : ''}`,
      colorKey: `${g.impl}@${g.threads}t`,
      dashed: g.direction === 'fwdbwd',
      points: g.points,
    }));
}
