/**
 * Generates src/kernels/generated/jobs.h, the C side of the job blocks declared in src/job-layout.ts:
 * a struct per job, its size, the bits of its `want` field, and a `_Static_assert` per field that the compiler laid it out where the
 * host writes it. Run by scripts/build-wasm.mjs before compiling; test/job-layout.test.ts checks that the
 * committed header is what this produces.
 */
import { CONV_JOB, CONV_WANT, ROI_JOB, ROI_WANT, type JobLayout } from '../src/job-layout.js';

/** Where the header lives, relative to the package root. */
export const JOB_HEADER_PATH = 'src/kernels/generated/jobs.h';

const C_TYPE = { i32: 'int32_t', f64: 'double' } as const;

function macroName(struct: string): string {
  return struct.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** `#define`s of a flags field's bits: `<STRUCT>_<FIELD>_<BIT>`. */
function jobBits(layout: JobLayout, field: string, bits: Readonly<Record<string, number>>): string {
  const prefix = `${macroName(layout.spec.struct)}_${field.toUpperCase()}`;
  return Object.entries(bits).map(([name, bit]) => `#define ${prefix}_${name.toUpperCase()} ${bit}`).join('\n');
}

function jobStruct(layout: JobLayout): string {
  const { struct, doc, fields } = layout.spec;
  const width = Math.max(...fields.map((f) => `${C_TYPE[f.type]} ${f.name};`.length));
  const lines = [`/* ${struct}: ${doc}. */`, 'typedef struct {'];
  for (const f of fields) lines.push(`  ${`${C_TYPE[f.type]} ${f.name};`.padEnd(width)} /* ${f.doc} */`);
  lines.push(`} ${struct};`, '', `#define ${macroName(struct)}_BYTES ${layout.bytes}`, `_Static_assert(sizeof(${struct}) == ${macroName(struct)}_BYTES, "${struct}: size");`);
  for (const f of fields) {
    const at = (layout.offsets as Record<string, number>)[f.name];
    lines.push(`_Static_assert(__builtin_offsetof(${struct}, ${f.name}) == ${at}, "${struct}.${f.name}: offset");`);
  }
  return lines.join('\n');
}

/** The text of the generated header. */
export function jobHeader(): string {
  return [
    '/* Generated from src/job-layout.ts by scripts/build-wasm.mjs (scripts/job-header.ts): do not edit. */',
    '/* The job blocks the host writes (src/job-layout.ts: writeJob) and the kernels read. Pointers are 32-bit. */',
    '#ifndef DCN_JOBS_H',
    '#define DCN_JOBS_H',
    '',
    '#include <stdint.h>',
    '',
    jobStruct(CONV_JOB),
    jobBits(CONV_JOB, 'want', CONV_WANT),
    '',
    jobStruct(ROI_JOB),
    jobBits(ROI_JOB, 'want', ROI_WANT),
    '',
    '#endif',
    '',
  ].join('\n');
}
