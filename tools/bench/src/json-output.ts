/**
 * The `--json FILE` document: every record (timed combination) and problem (WRONG, skipped, failed), the machine,
 * the command line and the options, so that a result file can be compared with another without guessing how it
 * was made. Records carry at least impl, shape, direction, threads, median_ms, min_ms, max_ms and gflops (see
 * records.ts for every field and `validateRecord`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MachineInfo } from './machine.js';
import type { BenchRecord, Problem } from './records.js';
import { validateRecord } from './records.js';
import type { Direction, NamedShape, SweepKind } from './shapes.js';

export const JSON_FORMAT_VERSION = 1;

export interface BenchDocument {
  readonly tool: '@dcnv2/bench';
  readonly format: number;
  /** The command line as typed. */
  readonly command: string;
  /** The command that reproduces the measurement (output-only flags dropped): `pnpm bench:readme`. */
  readonly reproduce: string;
  readonly machine: MachineInfo;
  readonly options: Readonly<Record<string, unknown>>;
  /** The shapes in run order. */
  readonly shapes: readonly NamedShape[];
  readonly directions: readonly Direction[];
  readonly sweep: SweepKind | null;
  /** Implementations in row order, with what each is. */
  readonly impls: readonly { readonly id: string; readonly description: string }[];
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

/** Reads a document written by `--json`, checking its format and every record. */
export function readJson(path: string): BenchDocument {
  let doc: BenchDocument;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as BenchDocument;
  } catch (e) {
    throw new JsonInputError(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (doc?.tool !== '@dcnv2/bench' || doc.format !== JSON_FORMAT_VERSION) {
    throw new JsonInputError(`${path} is not a @dcnv2/bench result of format ${JSON_FORMAT_VERSION}`);
  }
  for (const r of doc.records) {
    const errors = validateRecord(r);
    if (errors.length > 0) throw new JsonInputError(`${path}: a record is malformed: ${errors.join('; ')}`);
  }
  return doc;
}
