/**
 * The conformance suites (golden vectors, properties, fuzzing and gradient checks against a float64
 * reference, onnxruntime-web, a cross-check with the reference backend, adversarial inputs) for both ops,
 * on this backend. A kernel it lacks is skipped and reported as missing, never failed: this test passes
 * on the empty skeleton and keeps passing as long as every kernel you add is correct.
 */
import { hasKernel } from '@dcnv2/core';
import { createReferenceBackend, formatRow, formatSkip, runConformance, type VectorsOp } from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create__Name__Backend, type __Name__Backend } from '../src/index.js';

const OPS: readonly VectorsOp[] = ['deform_conv2d', 'deform_roi_pool'];

let backend: __Name__Backend;
const reference = createReferenceBackend();

beforeAll(async () => {
  backend = create__Name__Backend();
  await backend.init();
  await reference.init();
});

afterAll(async () => {
  await backend.dispose();
  await reference.dispose();
});

describe.each(OPS)('conformance of the __name__ backend: %s', (op) => {
  it('fails no check; the kernels it lacks are reported as missing', async () => {
    const result = await runConformance({
      backend,
      op,
      // cross compares with the float64 reference backend, as the CLI does by default.
      others: [reference],
      // A second instance, for adversarial's check that one instance refuses another's tensors.
      create: () => create__Name__Backend(),
    });
    const failures = result.rows.filter((r) => !r.pass).map(formatRow);
    for (const s of result.skipped) console.log(formatSkip(s));
    if (result.missing.length > 0) console.log(`missing kernels: ${result.missing.map((m) => `${m.op} ${m.direction}`).join(', ')}`);
    console.log(`${op}: ${result.passed} passed, ${result.failed} failed, ${result.skipped.length} skipped`);
    expect(result.failed, failures.slice(0, 20).join('\n')).toBe(0);
    // With a forward kernel the suites run: rows are checked, not everything skipped.
    if (hasKernel(backend, op, 'forward')) expect(result.passed).toBeGreaterThan(0);
  });
});
