/**
 * Markdown rendering of a run: one table per direction, a row per implementation, shape and thread count, with
 * the time ratios to the yardsticks (onnxruntime-web and onnxruntime-node at 1 thread for the forward,
 * torchvision at 1 thread where it ran), the agreement check, memory, and footnotes that say what each column
 * means. Columns are padded so the raw text reads as a table in a terminal too.
 */
import type { BenchRecord, Problem } from './records.js';
import { peerKey } from './records.js';
import type { Direction } from './shapes.js';

export const DIRECTION_TITLES: Readonly<Record<Direction, string>> = {
  fwd: 'Forward',
  fwdbwd: 'Forward + backward (all five gradients)',
};

/** Peers every row is compared with, in column order, where they have a row in the table. */
export const YARDSTICKS: readonly string[] = ['ort-web@1t', 'ort-node@1t', 'torchvision@1t'];

export interface RenderOptions {
  /** Shape labels in the order to show them. */
  readonly shapeOrder: readonly string[];
  /** Implementation ids in row order. */
  readonly implOrder: readonly string[];
  readonly directions: readonly Direction[];
  /** Extra facts for the footnotes. */
  readonly notes?: readonly string[];
  /** Append the full ratio matrix of every shape and direction. */
  readonly matrix?: boolean;
}

/** Three significant digits, no exponent for the magnitudes a benchmark shows (0.00123 .. 99999). */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 100) return String(Math.round(v));
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a >= 0.001) return v.toPrecision(3);
  return v.toExponential(1);
}

/** A ratio: two significant digits, `1` for exactly the same row. */
export function formatRatio(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v >= 10) return String(Math.round(v));
  return v.toPrecision(2);
}

export function formatError(v: number): string {
  return v === 0 ? '0' : v.toExponential(1);
}

/** Pads every column to its widest cell; numeric columns right-aligned. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly boolean[]): string {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i].length)));
  const cell = (s: string, i: number) => (rightAligned[i] ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (rightAligned[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function orderIndex(list: readonly string[], v: string): number {
  const i = list.indexOf(v);
  return i < 0 ? list.length : i;
}

type Row = { readonly kind: 'record'; readonly r: BenchRecord } | { readonly kind: 'problem'; readonly p: Problem };

export function renderDirection(records: readonly BenchRecord[], problems: readonly Problem[], direction: Direction, o: RenderOptions): string {
  const recs = records.filter((r) => r.direction === direction);
  const shown = problems.filter((p) => p.direction === direction && (p.status === 'wrong' || p.status === 'error'));
  const yardsticks = YARDSTICKS.filter((y) => recs.some((r) => peerKey(r) === y));
  const rows: Row[] = [...recs.map((r) => ({ kind: 'record' as const, r })), ...shown.map((p) => ({ kind: 'problem' as const, p }))];
  const sortKey = (row: Row) => {
    const x = row.kind === 'record' ? row.r : row.p;
    return [orderIndex(o.shapeOrder, x.shape), orderIndex(o.implOrder, x.impl), x.threads ?? 0];
  };
  rows.sort((a, b) => {
    const ka = sortKey(a);
    const kb = sortKey(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] - kb[i];
    return 0;
  });

  const header = ['shape', 'impl', 'threads', 'median ms', 'min–max ms', 'GFLOP/s', 'peak RSS MB', 'RSS +MB', 'wasm +MB', 'check', ...yardsticks.map((y) => `÷ ${y.replace('@', ' ')}`)];
  const right = [false, false, true, true, true, true, true, true, true, false, ...yardsticks.map(() => true)];
  const body = rows.map((row): string[] => {
    if (row.kind === 'problem') {
      const p = row.p;
      const status = p.status === 'wrong' ? `**WRONG** ${p.check_max_abs_err !== undefined ? formatError(p.check_max_abs_err) : ''}`.trim() : 'error';
      return [p.shape, p.impl, p.threads === null ? '—' : String(p.threads), '—', '—', '—', '—', '—', '—', status, ...yardsticks.map(() => '—')];
    }
    const r = row.r;
    return [
      r.shape,
      r.impl,
      String(r.threads),
      formatNumber(r.median_ms),
      `${formatNumber(r.min_ms)}–${formatNumber(r.max_ms)}`,
      formatNumber(r.gflops),
      formatNumber(r.peak_rss_mb),
      formatNumber(r.rss_growth_mb),
      r.wasm_growth_mb === null ? '—' : formatNumber(r.wasm_growth_mb),
      `ok ${formatError(r.check_max_abs_err)}`,
      ...yardsticks.map((y) => (peerKey(r) === y ? '1' : r.ratios[y] !== undefined ? formatRatio(r.ratios[y]) : '—')),
    ];
  });

  const parts: string[] = [`### ${DIRECTION_TITLES[direction]}`, ''];
  if (body.length === 0) {
    parts.push('Nothing ran in this direction.');
  } else {
    parts.push(renderTable(header, body, right));
  }
  parts.push('', ...footnotes(recs, problems.filter((p) => p.direction === direction), yardsticks, direction));
  return parts.join('\n');
}

function footnotes(recs: readonly BenchRecord[], problems: readonly Problem[], yardsticks: readonly string[], direction: Direction): string[] {
  const lines: string[] = [];
  if (recs.length > 0) {
    const runs = recs.map((r) => r.runs);
    const lo = Math.min(...runs);
    const hi = Math.max(...runs);
    lines.push(
      `- Times per call from the host's point of view (inputs in host memory, result back on the host): median, min and max of ${lo === hi ? lo : `${lo}–${hi}`} timed runs per row, after warm-up, implementations interleaved in one process run.`,
    );
    lines.push(
      `- GFLOP/s: 2·N·Cout·Ho·Wo·(Cin/groups)·kh·kw${direction === 'fwdbwd' ? ' ×3 (forward, data gradient and weight gradient)' : ''} per median time; sampling and interpolation are not counted.`,
    );
    lines.push(
      "- Memory, per implementation's own worker process: peak RSS while running (runtime and inputs included); RSS +MB: peak minus the RSS after setup (what running the op added, garbage not yet collected included); wasm +MB: growth of the wasm linear memory (0: the op fit in the heap the runtime had already reserved).",
    );
    if (yardsticks.length > 0) lines.push(`- ÷ X: this row's median divided by X's median in the same run (above 1: slower than X).`);
    // Group the implementations by what they were checked against: one line per reference.
    const byRef = new Map<string, string[]>();
    for (const r of recs) {
      const ids = byRef.get(r.check_against) ?? [];
      if (!ids.includes(r.impl)) ids.push(r.impl);
      byRef.set(r.check_against, ids);
    }
    lines.push(
      '- check: largest |error| of the first run (before any timing) against a reference, within the conformance suite\'s tolerances; f64 = the float64 reference of @dcnv2/conformance, on a subset of output channels where noted. Dense rows are plain convolutions, checked against a plain convolution:',
    );
    for (const [ref, ids] of byRef) lines.push(`  - ${ids.join(", ")}: ${ref}`);
  }
  const wrong = problems.filter((p) => p.status === 'wrong');
  for (const p of wrong) lines.push(`- **WRONG**: ${p.impl} (${p.threads ?? '?'}t) on ${p.shape}: ${p.reason}. Not timed.`);
  const errors = problems.filter((p) => p.status === 'error');
  for (const p of errors) lines.push(`- error: ${p.impl}${p.threads === null ? '' : ` (${p.threads}t)`} on ${p.shape}: ${p.reason}`);
  // Skips repeat for every shape: say each reason once.
  const skips = new Map<string, Set<string>>();
  for (const p of problems.filter((q) => q.status === 'skipped')) {
    const k = `${p.impl}: ${p.reason}`;
    if (!skips.has(k)) skips.set(k, new Set());
    skips.get(k)!.add(p.shape);
  }
  for (const [k] of skips) lines.push(`- not run: ${k}`);
  return lines;
}

/** Every record divided by every other record of the same shape and direction. */
export function renderMatrix(records: readonly BenchRecord[], shape: string, direction: Direction, implOrder: readonly string[]): string {
  const recs = records
    .filter((r) => r.shape === shape && r.direction === direction)
    .sort((a, b) => orderIndex(implOrder, a.impl) - orderIndex(implOrder, b.impl) || a.threads - b.threads);
  if (recs.length < 2) return '';
  const keys = recs.map(peerKey);
  const header = ['row ÷ column', ...keys];
  const body = recs.map((r) => [peerKey(r), ...recs.map((p) => (p === r ? '1' : formatRatio(r.median_ms / p.median_ms)))]);
  return [`#### Ratio matrix, ${shape} ${direction}`, '', renderTable(header, body, [false, ...keys.map(() => true)])].join('\n');
}

export function renderMarkdown(records: readonly BenchRecord[], problems: readonly Problem[], o: RenderOptions): string {
  const parts: string[] = [];
  for (const d of o.directions) parts.push(renderDirection(records, problems, d, o));
  if (o.notes !== undefined && o.notes.length > 0) parts.push(['Notes:', '', ...o.notes.map((n) => `- ${n}`)].join('\n'));
  if (o.matrix) {
    for (const d of o.directions) {
      for (const s of o.shapeOrder) {
        const m = renderMatrix(records, s, d, o.implOrder);
        if (m !== '') parts.push(m);
      }
    }
  }
  return `${parts.join('\n\n')}\n`;
}
