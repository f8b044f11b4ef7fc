/**
 * The job blocks have one declaration (src/job-layout.ts): the C header the kernels include is generated
 * from it (and asserts every offset at compile time), the host writes the blocks from it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { JOB_HEADER_PATH, jobHeader } from '../scripts/job-header.js';
import { CONV_JOB, ROI_JOB, jobLayout, setJobFields, writeJob } from '../src/job-layout.js';


describe('job layout', () => {
  it('the committed C header is the one src/job-layout.ts generates (run pnpm build:wasm)', () => {
    expect(readFileSync(fileURLToPath(new URL(`../${JOB_HEADER_PATH}`, import.meta.url)), 'utf8')).toBe(jobHeader());
  });

  it('lays fields out as a wasm32 C struct does: in order, naturally aligned', () => {
    expect(CONV_JOB.bytes).toBe(36 * 4);
    expect(CONV_JOB.offsets.N).toBe(0);
    expect(CONV_JOB.offsets.ncb).toBe(35 * 4);
    expect(ROI_JOB.offsets.want).toBe(88);
    expect(ROI_JOB.offsets.scale).toBe(96);
    expect(ROI_JOB.offsets.gamma).toBe(104);
    expect(ROI_JOB.bytes).toBe(112);
    const odd = jobLayout({ struct: 'Odd', doc: '', fields: [{ name: 'a', type: 'i32', doc: '' }, { name: 'b', type: 'f64', doc: '' }, { name: 'c', type: 'i32', doc: '' }] });
    expect([odd.offsets.a, odd.offsets.b, odd.offsets.c, odd.bytes]).toEqual([0, 8, 16, 24]);
    expect(() => jobLayout({ struct: 'Twice', doc: '', fields: [{ name: 'a', type: 'i32', doc: '' }, { name: 'a', type: 'i32', doc: '' }] })).toThrow(/twice/);
  });

  it('writeJob zeroes the block and writes int32 and float64 fields at their offsets; setJobFields writes only those given', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const bytes = new Uint8Array(memory.buffer);
    bytes.fill(0xff);
    writeJob(memory, 16, ROI_JOB, { N: 3, cap: -7, scale: 0.0625, gamma: 0.1 });
    const view = new DataView(memory.buffer, 16, ROI_JOB.bytes);
    expect(view.getInt32(ROI_JOB.offsets.N, true)).toBe(3);
    expect(view.getInt32(ROI_JOB.offsets.cap, true)).toBe(-7);
    expect(view.getFloat64(ROI_JOB.offsets.scale, true)).toBe(0.0625);
    expect(view.getFloat64(ROI_JOB.offsets.gamma, true)).toBe(0.1);
    expect(view.getInt32(ROI_JOB.offsets.want, true)).toBe(0);
    expect(bytes[15]).toBe(0xff);
    expect(bytes[16 + ROI_JOB.bytes]).toBe(0xff);
    setJobFields(memory, 16, ROI_JOB, { want: 5 });
    expect(view.getInt32(ROI_JOB.offsets.want, true)).toBe(5);
    expect(view.getInt32(ROI_JOB.offsets.N, true)).toBe(3);
  });
});
