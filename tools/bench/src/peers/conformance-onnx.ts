/**
 * The ONNX pieces of @dcnv2/conformance that the bench reuses rather than re-implementing: the
 * onnxruntime-web DeformConv and RoiAlign runners, the in-code DeformConv and RoiAlign model builders and
 * their protobuf writer.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as conformance from '@dcnv2/conformance';
import { packageVersion } from '../package-info.js';

export type { OrtAvailability, OrtDeformConv, OrtDeformConvTensors } from '@dcnv2/conformance';

/** The subset of the conformance package's ProtoWriter that the Conv model builder uses. */
export type ProtoWriterLike = InstanceType<typeof conformance.ProtoWriter>;

export type ConformanceOnnx = Pick<
  typeof conformance,
  'createOrtDeformConv' | 'ortAvailable' | 'buildDeformConvModel' | 'ProtoWriter' | 'createOrtRoiAlign' | 'buildRoiAlignModel' | 'roiAlignModelShapes' | 'ROI_ALIGN_IO'
>;

/** The ONNX helpers (async so adapters keep one loading style for every peer). */
export async function loadConformanceOnnx(): Promise<ConformanceOnnx> {
  return conformance;
}

const require = createRequire(import.meta.url);

/** `onnxruntime-web <version>`, the one the conformance package resolves (and its runner loads). */
export function ortWebVersion(): string {
  return packageVersion('onnxruntime-web', join(dirname(require.resolve('@dcnv2/conformance/package.json')), 'package.json'));
}
