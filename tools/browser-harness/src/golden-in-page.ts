/**
 * Moving golden cases into a page and its results back: tensors travel as base64 float32 (page.evaluate
 * passes JSON), and the results are judged here in Node with the conformance suite's own tolerances.
 */
import { OPS } from '@dcnv2/core';
import { caseTolerance, compareTensors, convParams, type ConvTensorName, type ConvVectorCase } from '@dcnv2/conformance';

const b64 = (f: Float32Array | null) => (f === null ? null : Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64'));

function unb64(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

const op = OPS.deform_conv2d;

/** One case as the test pages' `runCases` expects it: shapes, public-API params, base64 tensors. */
export function pagePayload(cases: readonly ConvVectorCase[]) {
  return cases.map((vc) => {
    const p = vc.problem;
    // Every input of the op and the output, from core's op table and its shape function.
    const shapes = Object.fromEntries(Object.entries(op.shapes(p.geometry)).map(([k, s]) => [k, [...s]]));
    const tensors = Object.fromEntries(op.inputs.map((i) => [i.name, b64(p[i.name])]));
    return { shapes, params: convParams(p.geometry), ...tensors, gradOutput: b64(p.gradOutput) };
  });
}

export interface PageCheck {
  /** One line per tensor out of tolerance or missing. */
  readonly failures: string[];
  /** Tensors compared, and how many of them were gradients. */
  readonly checked: number;
  readonly grads: number;
}

/** Compares a page's results (tensor name -> base64 float32, per case) with the cases' expected tensors. */
export function checkPageResults(cases: readonly ConvVectorCase[], results: ReadonlyArray<Record<string, string>>): PageCheck {
  const failures: string[] = [];
  let checked = 0;
  let grads = 0;
  cases.forEach((vc, i) => {
    for (const [name, want] of Object.entries(vc.expected) as Array<[ConvTensorName, Float32Array | undefined]>) {
      if (want === undefined) continue;
      const res = results[i]?.[name];
      if (res === undefined) {
        failures.push(`${vc.name} ${name}: missing`);
        continue;
      }
      const cmp = compareTensors(unb64(res), want, caseTolerance(name, vc.problem.geometry, vc.tolerance[name]));
      checked++;
      if (name !== 'output') grads++;
      if (!cmp.pass) failures.push(`${vc.name} ${name}: max abs error ${cmp.maxAbsError} ${cmp.detail ?? ''}`);
    }
  });
  return { failures, checked, grads };
}
