import { describe, expect, it } from 'vitest';
import { formatNumber, formatOverhead, formatRatio, renderMarkdown, renderMatrix, renderTable } from '../src/markdown.js';
import { withRatios, type Problem } from '../src/records.js';
import { record, records, roiRecords } from './helpers.js';

const order = {
  shapeOrder: ['C'],
  implOrder: ['dcnv2-cpu', 'ort-web', 'ort-node', 'torchvision', 'dense-tfjs-wasm'],
  directions: ['fwd', 'fwdbwd'] as const,
};

const problems: Problem[] = [
  { op: 'deform_conv2d', impl: 'dcnv2-bad', shape: 'C', direction: 'fwd', threads: 1, status: 'wrong', reason: 'output vs f64: max |err| 5.0e-2', check_max_abs_err: 0.05 },
  { op: 'deform_conv2d', impl: 'ort-web', shape: 'C', direction: 'fwdbwd', threads: null, status: 'skipped', reason: 'ONNX Runtime has no DeformConv gradient' },
];

/** The rows of the table under a heading, as arrays of trimmed cells. */
function tableUnder(md: string, heading: string): string[][] {
  const lines = md.split('\n');
  const start = lines.indexOf(heading);
  expect(start).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (let i = start + 2; i < lines.length && lines[i].startsWith('|'); i++) {
    const cells = lines[i].split('|').slice(1, -1).map((c) => c.trim());
    if (!cells.every((c) => /^-+:?$/.test(c))) rows.push(cells);
  }
  return rows;
}

describe('markdown', () => {
  it('formats numbers to three significant digits and ratios to two', () => {
    expect(formatNumber(75.34)).toBe('75.3');
    expect(formatNumber(1234.5)).toBe('1235');
    expect(formatNumber(2.513)).toBe('2.51');
    expect(formatNumber(0.0456)).toBe('0.0456');
    expect(formatNumber(0)).toBe('0');
    expect(formatRatio(5)).toBe('5.0');
    expect(formatRatio(25.4)).toBe('25');
    expect(formatRatio(0.123)).toBe('0.12');
  });

  it('pads columns and right-aligns numbers', () => {
    const t = renderTable(['a', 'num'], [['x', '1'], ['long', '100']], [false, true]);
    expect(t.split('\n')).toEqual(['| a    | num |', '|------|----:|', '| x    |   1 |', '| long | 100 |']);
  });

  it('renders one table per direction with ratios to the yardsticks that ran, WRONG rows and notes', () => {
    const md = renderMarkdown(records(), problems, { ...order, notes: ['dcnv2-webgpu not available: no GPU'] });
    const fwd = tableUnder(md, '### Forward');
    expect(fwd[0]).toEqual(['shape', 'impl', 'threads', 'median ms', 'min–max ms', 'GFLOP/s', 'peak RSS MB', 'RSS +MB', 'wasm +MB', 'check', '÷ ort-web 1t', '÷ ort-node 1t']);
    const cpu = fwd.find((r) => r[1] === 'dcnv2-cpu')!;
    expect(cpu).toEqual(['C', 'dcnv2-cpu', '1', '75.0', '70.0–90.0', '3.08', '105', '50.0', '—', 'ok 9.0e-7', '5.0', '25']);
    expect(fwd.find((r) => r[1] === 'ort-web' && r[2] === '1')!.slice(-2)).toEqual(['1', '5.0']);
    expect(fwd.find((r) => r[1] === 'ort-web' && r[2] === '1')![8]).toBe('0');
    const wrong = fwd.find((r) => r[1] === 'dcnv2-bad')!;
    expect(wrong[3]).toBe('—');
    expect(wrong[9]).toBe('**WRONG** 5.0e-2');
    // Rows follow the implementation order, threads ascending.
    expect(fwd.slice(1).map((r) => `${r[1]}@${r[2]}`)).toEqual(['dcnv2-cpu@1', 'ort-web@1', 'ort-web@2', 'ort-node@1', 'dense-tfjs-wasm@1', 'dcnv2-bad@1']);

    const back = tableUnder(md, '### Forward + backward (all five gradients)');
    expect(back[0].at(-1)).toBe('÷ torchvision 1t');
    expect(back.find((r) => r[1] === 'dcnv2-cpu')!.at(-1)).toBe('1.2');
    expect(md).toMatch(/- not run: ort-web: ONNX Runtime has no DeformConv gradient/);
    expect(md).toMatch(/\*\*WRONG\*\*: dcnv2-bad \(1t\) on C: output vs f64/);
    expect(md).toMatch(/dcnv2-webgpu not available: no GPU/);
    expect(md).toMatch(/GFLOP\/s: 2·N·Cout·Ho·Wo·\(Cin\/groups\)·kh·kw ×3/);
  });

  it('renders the full ratio matrix on request', () => {
    const m = renderMatrix(records(), 'deform_conv2d', 'C', 'fwd', order.implOrder);
    const rows = m
      .split('\n')
      .filter((l) => l.startsWith('|') && !l.startsWith('|-'))
      .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
    expect(rows[0]).toEqual(['row ÷ column', 'dcnv2-cpu@1t', 'ort-web@1t', 'ort-web@2t', 'ort-node@1t', 'dense-tfjs-wasm@1t']);
    expect(rows[1]).toEqual(['dcnv2-cpu@1t', '1', '5.0', '8.3', '25', '3.0']);
    expect(rows[2][1]).toBe('0.20');
    expect(renderMarkdown(records(), [], { ...order, matrix: true })).toMatch(/#### Ratio matrix, C fwdbwd/);
  });

  it('divides each @dcnv2/tfjs row by the direct dcnv2 row of its backend, to three digits, when both ran', () => {
    expect(formatOverhead(1.0449)).toBe('1.04');
    expect(formatOverhead(0.987)).toBe('0.99');
    expect(formatOverhead(12.4)).toBe('12');
    const recs = withRatios([
      record({ impl: 'dcnv2-cpu', median_ms: 100 }),
      record({ impl: 'dcnv2-wasm', median_ms: 40 }),
      record({ impl: 'tfjs-dcnv2-cpu', median_ms: 104 }),
      record({ impl: 'tfjs-dcnv2-wasm', median_ms: 46 }),
      record({ impl: 'tfjs-nhwc-wasm', median_ms: 50 }),
      record({ impl: 'ort-web', median_ms: 20 }),
      record({ impl: 'dcnv2-cpu', direction: 'fwdbwd', median_ms: 300 }),
      record({ impl: 'tfjs-dcnv2-cpu', direction: 'fwdbwd', median_ms: 309 }),
      record({ impl: 'tfjs-dcnv2-wasm', direction: 'fwdbwd', median_ms: 150 }),
    ]);
    const bad: Problem[] = [{ op: 'deform_conv2d', impl: 'tfjs-nhwc-cpu', shape: 'C', direction: 'fwd', threads: 1, status: 'error', reason: 'boom' }];
    const md = renderMarkdown(recs, bad, {
      shapeOrder: ['C'],
      implOrder: ['dcnv2-cpu', 'dcnv2-wasm', 'tfjs-dcnv2-cpu', 'tfjs-dcnv2-wasm', 'tfjs-nhwc-cpu', 'tfjs-nhwc-wasm', 'ort-web'],
      directions: ['fwd', 'fwdbwd'],
    });
    const fwd = tableUnder(md, '### Forward');
    expect(fwd[0].slice(-2)).toEqual(['÷ ort-web 1t', '÷ dcnv2 direct']);
    const col = (rows: string[][]) => Object.fromEntries(rows.slice(1).map((r) => [r[1], r.at(-1)]));
    expect(col(fwd)).toEqual({
      'dcnv2-cpu': '—',
      'dcnv2-wasm': '—',
      'tfjs-dcnv2-cpu': '1.04',
      'tfjs-dcnv2-wasm': '1.15',
      'tfjs-nhwc-cpu': '—',
      'tfjs-nhwc-wasm': '1.25',
      'ort-web': '—',
    });
    expect(md).toMatch(/- ÷ dcnv2 direct: a @dcnv2\/tfjs row's median divided by the median of the direct dcnv2 row of the same backend/);
    // The wasm row's direct row did not run backward: no ratio, the cpu one still has its own.
    const back = tableUnder(md, '### Forward + backward (all five gradients)');
    expect(back[0].at(-1)).toBe('÷ dcnv2 direct');
    expect(col(back)).toEqual({ 'dcnv2-cpu': '—', 'tfjs-dcnv2-cpu': '1.03', 'tfjs-dcnv2-wasm': '—' });
    // Without tfjs rows (or without their direct rows) there is no such column.
    expect(renderMarkdown(records(), [], order)).not.toContain('dcnv2 direct');
    const alone = renderMarkdown(withRatios([record({ impl: 'tfjs-dcnv2-cpu' })]), [], { ...order, directions: ['fwd'] });
    expect(alone).not.toContain('dcnv2 direct');
  });

  it('says so when nothing ran in a direction', () => {
    expect(renderMarkdown([], [], { ...order, directions: ['fwd'] })).toMatch(/Nothing ran in this direction/);
  });

  it('renders RoI pooling tables after the convolution\'s, with the RoIAlign peers as yardsticks', () => {
    const roiProblems: Problem[] = [
      { op: 'deform_roi_pool', impl: 'roialign-ort-node', shape: 'R1', direction: 'fwdbwd', threads: null, status: 'skipped', reason: 'ONNX Runtime has no RoiAlign gradient (inference only)' },
      { op: 'deform_roi_pool', impl: 'dcnv2-bad', shape: 'R1', direction: 'fwd', threads: 1, status: 'wrong', reason: 'output vs f64: max |err| 3.0e-2', check_max_abs_err: 0.03 },
    ];
    const md = renderMarkdown(roiRecords(), roiProblems, {
      shapeOrder: ['C', 'R1'],
      implOrder: ['dcnv2-cpu', 'dcnv2-cpu-plain', 'roialign-ort-node', 'roialign-torchvision'],
      directions: ['fwd', 'fwdbwd'],
    });
    const headings = md.split('\n').filter((l) => l.startsWith('### '));
    expect(headings).toEqual([
      '### Forward',
      '### Forward + backward (all five gradients)',
      '### RoI pooling, forward',
      '### RoI pooling, forward + backward (gradients of input, offset and mask; RoIAlign rows: of input)',
    ]);
    // The convolution's tables hold only its own rows.
    expect(tableUnder(md, '### Forward').slice(1).map((r) => r[1])).toEqual(['dcnv2-cpu']);
    const fwd = tableUnder(md, '### RoI pooling, forward');
    expect(fwd[0].slice(-2)).toEqual(['÷ roialign-ort-node 1t', '÷ roialign-torchvision 1t']);
    expect(fwd.slice(1).map((r) => r[1])).toEqual(['dcnv2-cpu', 'dcnv2-cpu-plain', 'roialign-ort-node', 'roialign-torchvision', 'dcnv2-bad']);
    expect(fwd[1]).toEqual(['R1', 'dcnv2-cpu', '1', '40.0', '35.0–50.0', '2.57', '105', '50.0', '—', 'ok 1.2e-7', '2.0', '4.0']);
    expect(fwd[2].slice(-2)).toEqual(['1.5', '3.0']);
    expect(fwd[5][9]).toBe('**WRONG** 3.0e-2');
    expect(tableUnder(md, '### RoI pooling, forward + backward (gradients of input, offset and mask; RoIAlign rows: of input)')[1].at(-1)).toBe('3.0');
    const roiPart = md.slice(md.indexOf('### RoI pooling, forward'));
    expect(roiPart).toMatch(/GFLOP\/s: 8 per bilinear sample and channel/);
    expect(roiPart).toMatch(/- dcnv2-cpu-plain, roialign-torchvision, roialign-ort-node: RoIAlign f64/);
    expect(roiPart).toMatch(/- not run: roialign-ort-node: ONNX Runtime has no RoiAlign gradient/);
    expect(md.slice(0, md.indexOf('### RoI pooling'))).not.toMatch(/RoiAlign|dcnv2-bad/);
    expect(renderMarkdown(roiRecords(), [], { shapeOrder: ['R1'], implOrder: [], directions: ['fwd'], ops: ['deform_roi_pool'], matrix: true })).toMatch(
      /#### Ratio matrix, R1 fwd/,
    );
  });
});
