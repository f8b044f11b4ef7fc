/**
 * Any dcnv2 backend, loaded from the module that exports its `dcnBackend` provider, called through core's public
 * `deformConv2d` / `deformConv2dBackward` with host tensors: what a user pays, validation, uploads and
 * read-backs included. Adding a backend needs nothing here.
 */
import { pathToFileURL } from 'node:url';
import {
  deformConv2d,
  deformConv2dBackward,
  type Backend,
  type BackendProvider,
  type ConvGeometry,
  type HostTensor as CoreHostTensor,
} from '@dcnv2/core';
import { convShapes } from '@dcnv2/core';
import { convParams } from '@dcnv2/conformance';
import { packageAbove } from '../package-info.js';
import { SkipError, type Adapter, type CheckTensorName, type HostTensor } from './types.js';

function isProvider(p: unknown): p is BackendProvider {
  return typeof p === 'object' && p !== null && typeof (p as BackendProvider).create === 'function';
}


async function createBackend(provider: BackendProvider, options?: unknown): Promise<Backend> {
  const backend = await provider.create(options);
  await backend.init();
  return backend;
}

export const dcnv2Adapter: Adapter = async (c, { threads, direction, module }) => {
  if (module === undefined) throw new Error('dcnv2 adapter: no backend module given');
  const mod = (await import(pathToFileURL(module).href)) as { dcnBackend?: unknown; default?: { dcnBackend?: unknown } };
  const provider = mod.dcnBackend ?? mod.default?.dcnBackend;
  if (!isProvider(provider)) throw new Error(`${module} does not export dcnBackend, a BackendProvider { name, create() }`);
  const pkg = packageAbove(module);

  // Ask for the thread count explicitly (the BackendProvider convention is `create({ threads })`): a backend's
  // default may be every core, which would make a "1 thread" row use them all. A backend that rejects the
  // option is created with its defaults; then only a single-threaded one can be reported truthfully.
  let backend: Backend;
  let used: number;
  try {
    backend = await createBackend(provider, { threads });
    // A backend that can use fewer threads than asked (cpu: 1) reports that in its capabilities.
    used = Math.max(1, Math.min(threads, backend.capabilities.threads));
  } catch (first) {
    try {
      backend = await createBackend(provider);
    } catch {
      throw new SkipError(`backend ${provider.name} failed to initialise here: ${first instanceof Error ? first.message : String(first)}`);
    }
    used = Math.max(1, backend.capabilities.threads);
    if (used !== 1 && used !== threads) {
      await backend.dispose();
      throw new SkipError(`backend ${provider.name} rejects { threads: ${threads} } and runs with up to ${used} threads by default`);
    }
  }
  if (direction === 'fwdbwd' && !backend.capabilities.backward) {
    await backend.dispose();
    throw new SkipError(`backend ${provider.name} has no backward`);
  }

  const g = c.geometry;
  const s = convShapes(g);
  const args = {
    input: { shape: s.input, data: c.input },
    weight: { shape: s.weight, data: c.weight },
    offset: { shape: s.offset, data: c.offset },
    mask: { shape: s.mask, data: c.mask },
    bias: { shape: s.bias, data: c.bias },
  };
  const gradOutput = { shape: s.output, data: c.gradOutput };
  const params = convParams(g);

  async function once(): Promise<Partial<Record<CheckTensorName, CoreHostTensor>>> {
    const output = await deformConv2d(args, params, { backend });
    if (direction === 'fwd') return { output };
    const grads = await deformConv2dBackward({ ...args, gradOutput }, params, { backend });
    return {
      output,
      grad_input: grads.input,
      grad_offset: grads.offset,
      grad_mask: grads.mask,
      grad_weight: grads.weight,
      grad_bias: grads.bias,
    };
  }

  // Some backends say which build they picked (the wasm backend: simd or relaxed-simd); worth stating.
  const info = (backend as { info?: { variant?: unknown } }).info;
  const variant = typeof info === 'object' && info !== null && typeof info.variant === 'string' ? ` (${info.variant})` : '';
  return {
    version: `${pkg?.name ?? provider.name} ${pkg?.version ?? '?'}${variant}`,
    threads: used,
    async run() {
      await once();
    },
    async outputs() {
      const r = await once();
      const out: Partial<Record<CheckTensorName, HostTensor>> = {};
      for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k as CheckTensorName] = v;
      return out;
    },
    async dispose() {
      await backend.dispose();
    },
  };
};
