/**
 * Markdown rendering of a run: per op, one table per direction, a row per implementation, shape and thread
 * count, with the time ratios to the op's yardsticks (deform_conv2d: onnxruntime-web and onnxruntime-node at 1
 * thread for the forward, torchvision at 1 thread where it ran; deform_roi_pool: the RoIAlign peers at 1 thread),
 * the agreement check, memory, and footnotes that say what each column means. Columns are padded so the raw
 * text reads as a table in a terminal too.
 */
import { BENCH_OPS, DEFAULT_OP, type BenchOp } from './ops.js';
import type { BenchRecord, Problem } from './records.js';
import { peerKey } from './records.js';
import type { Direction } from './shapes.js';
import { directRowOf } from './tfjs-rows.js';

/** Table headings per op and direction (the convolution's predate RoI pooling and stay as they were). */
export const DIRECTION_TITLES: Readonly<Record<BenchOp, Readonly<Record<Direction, string>>>> = {
  deform_conv2d: {
    fwd: 'Forward',
    fwdbwd: 'Forward + backward (all five gradients)',
  },
  deform_roi_pool: {
    fwd: 'RoI pooling, forward',
    fwdbwd: 'RoI pooling, forward + backward (gradients of input, offset and mask; RoIAlign rows: of input)',
  },
};

/** Peers every row is compared with, per op, in column order, where they have a row in the table. */
export const YARDSTICKS: Readonly<Record<BenchOp, readonly string[]>> = {
  deform_conv2d: ['ort-web@1t', 'ort-node@1t', 'torchvision@1t'],
  deform_roi_pool: ['roialign-ort-web@1t', 'roialign-ort-node@1t', 'roialign-torchvision@1t'],
};

/** What GFLOP/s counts, per op (`x3` is appended for forward + backward). */
const WORK_DEFINITIONS: Readonly<Record<BenchOp, { readonly fwd: string; readonly bwd: string }>> = {
  deform_conv2d: { fwd: '2·N·Cout·Ho·Wo·(Cin/groups)·kh·kw', bwd: ' ×3 (forward, data gradient and weight gradient)' },
  deform_roi_pool: { fwd: '8 per bilinear sample and channel (four corner multiply-adds; C·ph·pw·grid_h·grid_w samples per RoI)', bwd: ' ×3 (forward, input-gradient scatter, offset and mask gradients)' },
};

/** How the rows of an op are checked, introducing the list of references. */
const CHECK_NOTES: Readonly<Record<BenchOp, string>> = {
  deform_conv2d:
    "- check: largest |error| of the first run (before any timing) against a reference, within the conformance suite's tolerances; f64 = the float64 reference of @dcnv2/conformance, on a subset of output channels where noted. Dense rows are plain convolutions, checked against a plain convolution:",
  deform_roi_pool:
    "- check: largest |error| of the first run (before any timing) against the float64 reference of @dcnv2/conformance, within the conformance suite's RoI pooling tolerances. RoIAlign rows (the peers, and dcnv2's `-plain` rows, called without offset and mask) are checked against the reference without offset and mask:",
};

export interface RenderOptions {
  /** Ops in table order; default: those with records or problems (the convolution when there are none). */
  readonly ops?: readonly BenchOp[];
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

/** The overhead of a wrapper over the call it wraps: three significant digits, so 1.04 and 1.12 differ. */
export function formatOverhead(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v >= 10) return String(Math.round(v));
  return v.toFixed(2);
}

/** Heading of the column of @dcnv2/tfjs rows divided by the direct dcnv2 row of the same backend. */
export const DIRECT_COLUMN = '÷ dcnv2 direct';

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

/** The table of one op and direction, with its footnotes. */
export function renderDirection(records: readonly BenchRecord[], problems: readonly Problem[], op: BenchOp, direction: Direction, o: RenderOptions): string {
  const recs = records.filter((r) => r.op === op && r.direction === direction);
  const ofOp = problems.filter((p) => p.op === op && p.direction === direction);
  const shown = ofOp.filter((p) => p.status === 'wrong' || p.status === 'error');
  const yardsticks = YARDSTICKS[op].filter((y) => recs.some((r) => peerKey(r) === y));
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

  // @dcnv2/tfjs rows: their overhead over the direct dcnv2 call on the same backend, where both ran.
  const directOf = (r: BenchRecord): number | undefined => {
    const d = directRowOf(r.impl);
    return d === null ? undefined : r.ratios[d];
  };
  const direct = recs.some((r) => directOf(r) !== undefined);
  const header = [
    'shape', 'impl', 'threads', 'median ms', 'min–max ms', 'GFLOP/s', 'peak RSS MB', 'RSS +MB', 'wasm +MB', 'check',
    ...yardsticks.map((y) => `÷ ${y.replace('@', ' ')}`),
    ...(direct ? [DIRECT_COLUMN] : []),
  ];
  const right = [false, false, true, true, true, true, true, true, true, false, ...yardsticks.map(() => true), ...(direct ? [true] : [])];
  const body = rows.map((row): string[] => {
    if (row.kind === 'problem') {
      const p = row.p;
      const status = p.status === 'wrong' ? `**WRONG** ${p.check_max_abs_err !== undefined ? formatError(p.check_max_abs_err) : ''}`.trim() : 'error';
      return [p.shape, p.impl, p.threads === null ? '—' : String(p.threads), '—', '—', '—', '—', '—', '—', status, ...yardsticks.map(() => '—'), ...(direct ? ['—'] : [])];
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
      ...(direct ? [directOf(r) !== undefined ? formatOverhead(directOf(r)!) : '—'] : []),
    ];
  });

  const parts: string[] = [`### ${DIRECTION_TITLES[op][direction]}`, ''];
  if (body.length === 0) {
    parts.push('Nothing ran in this direction.');
  } else {
    parts.push(renderTable(header, body, right));
  }
  parts.push('', ...footnotes(recs, ofOp, yardsticks, op, direction, direct));
  return parts.join('\n');
}

function footnotes(recs: readonly BenchRecord[], problems: readonly Problem[], yardsticks: readonly string[], op: BenchOp, direction: Direction, direct: boolean): string[] {
  const lines: string[] = [];
  if (recs.length > 0) {
    const runs = recs.map((r) => r.runs);
    const lo = Math.min(...runs);
    const hi = Math.max(...runs);
    lines.push(
      `- Times per call from the host's point of view (inputs in host memory, result back on the host): median, min and max of ${lo === hi ? lo : `${lo}–${hi}`} timed runs per row, after warm-up, implementations interleaved in one process run.`,
    );
    const work = WORK_DEFINITIONS[op];
    lines.push(
      `- GFLOP/s: ${work.fwd}${direction === 'fwdbwd' ? work.bwd : ''} per median time; ${op === 'deform_conv2d' ? 'sampling and interpolation are not counted' : 'index and weight arithmetic is not counted'}.`,
    );
    lines.push(
      "- Memory, per implementation's own worker process: peak RSS while running (runtime and inputs included); RSS +MB: peak minus the RSS after setup (what running the op added, garbage not yet collected included); wasm +MB: growth of the wasm linear memory (0: the op fit in the heap the runtime had already reserved).",
    );
    if (yardsticks.length > 0) lines.push(`- ÷ X: this row's median divided by X's median in the same run (above 1: slower than X).`);
    if (direct) {
      lines.push(
        `- ${DIRECT_COLUMN}: a @dcnv2/tfjs row's median divided by the median of the direct dcnv2 row of the same backend at 1 thread in the same run (\`tfjs-dcnv2-cpu\`, \`tfjs-nhwc-cpu\` ÷ \`dcnv2-cpu\`; \`-wasm\` ÷ \`dcnv2-wasm\`): what going through tfjs costs (1.10: 10% slower than calling dcnv2 directly).`,
      );
    }
    // Group the implementations by what they were checked against: one line per reference.
    const byRef = new Map<string, string[]>();
    for (const r of recs) {
      const ids = byRef.get(r.check_against) ?? [];
      if (!ids.includes(r.impl)) ids.push(r.impl);
      byRef.set(r.check_against, ids);
    }
    lines.push(CHECK_NOTES[op]);
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

/** Every record divided by every other record of the same op, shape and direction. */
export function renderMatrix(records: readonly BenchRecord[], op: BenchOp, shape: string, direction: Direction, implOrder: readonly string[]): string {
  const recs = records
    .filter((r) => r.op === op && r.shape === shape && r.direction === direction)
    .sort((a, b) => orderIndex(implOrder, a.impl) - orderIndex(implOrder, b.impl) || a.threads - b.threads);
  if (recs.length < 2) return '';
  const keys = recs.map(peerKey);
  const header = ['row ÷ column', ...keys];
  const body = recs.map((r) => [peerKey(r), ...recs.map((p) => (p === r ? '1' : formatRatio(r.median_ms / p.median_ms)))]);
  return [`#### Ratio matrix, ${shape} ${direction}`, '', renderTable(header, body, [false, ...keys.map(() => true)])].join('\n');
}

/** The ops to render: `o.ops`, else those the records and problems mention, else the convolution. */
export function renderedOps(records: readonly BenchRecord[], problems: readonly Problem[], o: RenderOptions): readonly BenchOp[] {
  if (o.ops !== undefined) return o.ops;
  const present = BENCH_OPS.filter((op) => records.some((r) => r.op === op) || problems.some((p) => p.op === op));
  return present.length > 0 ? present : [DEFAULT_OP];
}

export function renderMarkdown(records: readonly BenchRecord[], problems: readonly Problem[], o: RenderOptions): string {
  const parts: string[] = [];
  const ops = renderedOps(records, problems, o);
  for (const op of ops) for (const d of o.directions) parts.push(renderDirection(records, problems, op, d, o));
  if (o.notes !== undefined && o.notes.length > 0) parts.push(['Notes:', '', ...o.notes.map((n) => `- ${n}`)].join('\n'));
  if (o.matrix) {
    for (const op of ops) {
      for (const d of o.directions) {
        for (const s of o.shapeOrder) {
          const m = renderMatrix(records, op, s, d, o.implOrder);
          if (m !== '') parts.push(m);
        }
      }
    }
  }
  return `${parts.join('\n\n')}\n`;
}
