/**
 * onnxruntime-node as the native yardsticks use it (ort-node.ts, ort-roi-align.ts): loaded when a case needs
 * it (a missing or broken install skips the case), one session per case on the CPU execution provider with
 * `intraOpNumThreads` = the thread count and inter-op parallelism off (a one-node graph has none).
 */
import { fileURLToPath } from 'node:url';
import type { InferenceSession } from 'onnxruntime-node';
import { packageVersion } from '../package-info.js';
import { SkipError } from './types.js';

export type OrtNode = typeof import('onnxruntime-node');

/** The onnxruntime-node module, or SkipError when it cannot be loaded here. */
export async function loadOrtNode(): Promise<OrtNode> {
  try {
    return await import('onnxruntime-node');
  } catch (e) {
    throw new SkipError(`cannot load onnxruntime-node: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A CPU session of `model` running on `threads` intra-op threads. */
export function createOrtNodeSession(ort: OrtNode, model: Uint8Array, threads: number): Promise<InferenceSession> {
  return ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
}

/** `onnxruntime-node 1.30.0 (cpu, <op>)`. */
export function ortNodeVersion(op: string): string {
  return `${packageVersion('onnxruntime-node', fileURLToPath(import.meta.url))} (cpu, ${op})`;
}
