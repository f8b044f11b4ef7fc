/**
 * The `--json FILE` document: every record (timed combination) and problem (WRONG, skipped, failed), the machine,
 * the command line and the options, so that a result file can be compared with another without guessing how it
 * was made. Records carry at least op, impl, shape, direction, threads, median_ms, min_ms, max_ms and gflops (see
 * records.ts for every field and `validateRecord`). Format 2 added the op (RoI pooling); a format-1 document
 * (convolution only) is read as format 2 with op deform_conv2d everywhere.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MachineInfo } from './machine.js';
import type { BenchOp } from './ops.js';
import type { BenchRecord, Problem } from './records.js';
import { validateRecord } from './records.js';
import type { RoiNamedShape } from './roi-shapes.js';
import type { Direction, NamedShape, SweepKind } from './shapes.js';

export const JSON_FORMAT_VERSION = 2;

/** A shape of the run, with its op. */
export type DocShape = ({ readonly op: 'deform_conv2d' } & NamedShape) | ({ readonly op: 'deform_roi_pool' } & RoiNamedShape);

/** An implementation of the run: its row name, op and what it is. */
export interface DocImpl {
  readonly op: BenchOp;
  readonly id: string;
  readonly description: string;
}

export interface BenchDocument {
  readonly tool: '@dcnv2/bench';
  readonly format: number;
  /** The command line as typed. */
  readonly command: string;
  /** The command that reproduces the measurement (output-only flags dropped): `pnpm bench:readme`. */
  readonly reproduce: string;
  readonly machine: MachineInfo;
  readonly options: Readonly<Record<string, unknown>>;
  /** The ops measured, in table order. */
  readonly ops: readonly BenchOp[];
  /** The shapes in run order. */
  readonly shapes: readonly DocShape[];
  readonly directions: readonly Direction[];
  readonly sweep: SweepKind | null;
  /** Implementations in row order, with what each is. */
  readonly impls: readonly DocImpl[];
  readonly records: readonly BenchRecord[];
  readonly problems: readonly Problem[];
  readonly notes: readonly string[];
}

export function benchDocument(parts: Omit<BenchDocument, 'tool' | 'format'>): BenchDocument {
  return { tool: '@dcnv2/bench', format: JSON_FORMAT_VERSION, ...parts };
}

export function writeJson(path: string, doc: BenchDocument): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
}

export class JsonInputError extends Error {
  override readonly name = 'JsonInputError';
}

/** A format-1 document (before RoI pooling: every record a convolution's) as format 2. */
function upgradeFormat1(doc: Record<string, unknown>): BenchDocument {
  const op = 'deform_conv2d';
  const each = (v: unknown) => (Array.isArray(v) ? v.map((x: Record<string, unknown>) => ({ op, ...x })) : v);
  return { ...doc, format: JSON_FORMAT_VERSION, ops: [op], shapes: each(doc.shapes), impls: each(doc.impls), records: each(doc.records), problems: each(doc.problems) } as unknown as BenchDocument;
}

/** Reads a document written by `--json`, checking its format and every record. */
export function readJson(path: string): BenchDocument {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new JsonInputError(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (raw?.tool !== '@dcnv2/bench' || (raw.format !== JSON_FORMAT_VERSION && raw.format !== 1)) {
    throw new JsonInputError(`${path} is not a @dcnv2/bench result of format 1 or ${JSON_FORMAT_VERSION}`);
  }
  const doc = raw.format === 1 ? upgradeFormat1(raw) : (raw as unknown as BenchDocument);
  for (const r of doc.records) {
    const errors = validateRecord(r);
    if (errors.length > 0) throw new JsonInputError(`${path}: a record is malformed: ${errors.join('; ')}`);
  }
  return doc;
}
