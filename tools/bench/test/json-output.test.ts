import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JSON_FORMAT_VERSION, JsonInputError, readJson } from '../src/json-output.js';
import { records } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dcnv2-bench-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

describe('reading a saved run', () => {
  it('reads a format-1 document (convolution only, before RoI pooling) as the current format', () => {
    // Format 1 records had no op.
    const v1Records = records().map((r) => {
      const v1: Record<string, unknown> = { ...r };
      delete v1.op;
      return v1;
    });
    const path = write('v1.json', {
      tool: '@dcnv2/bench',
      format: 1,
      shapes: [{ label: 'C', spec: {} }],
      impls: [{ id: 'dcnv2-cpu', description: 'cpu' }],
      records: v1Records,
      problems: [{ impl: 'ort-web', shape: 'C', direction: 'fwdbwd', threads: null, status: 'skipped', reason: 'no gradient' }],
    });
    const doc = readJson(path);
    expect(doc.format).toBe(JSON_FORMAT_VERSION);
    expect(doc.ops).toEqual(['deform_conv2d']);
    expect(doc.records.every((r) => r.op === 'deform_conv2d')).toBe(true);
    expect(doc.problems[0].op).toBe('deform_conv2d');
    expect(doc.shapes[0].op).toBe('deform_conv2d');
    expect(doc.impls[0]).toEqual({ op: 'deform_conv2d', id: 'dcnv2-cpu', description: 'cpu' });
  });

  it('rejects other tools, unknown formats and malformed records', () => {
    expect(() => readJson(write('other.json', { tool: 'x', format: 2 }))).toThrow(JsonInputError);
    expect(() => readJson(write('v9.json', { tool: '@dcnv2/bench', format: 9, records: [] }))).toThrow(/format 1 or 2/);
    const bad = { tool: '@dcnv2/bench', format: 2, ops: ['deform_conv2d'], records: [{ ...records()[0], op: 'deform_pool' }] };
    expect(() => readJson(write('bad.json', bad))).toThrow(/a record is malformed: op: expected/);
  });
});
