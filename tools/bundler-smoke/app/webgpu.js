// The webgpu page: deformConv2d on @dcnv2/backend-webgpu (the page's navigator.gpu), compared with @dcnv2/backend-cpu.
import { deformConv2d, registerBackend, setBackend } from '@dcnv2/core';
import { createCpuBackend } from '@dcnv2/backend-cpu';
import { createWebGpuBackend } from '@dcnv2/backend-webgpu';
import { compare, problem, report } from './common.js';

report('webgpu', async () => {
  registerBackend('cpu', () => createCpuBackend());
  registerBackend('webgpu', () => createWebGpuBackend());
  const { args, params } = problem();
  await setBackend('cpu');
  const want = await deformConv2d(args, params);
  const hasNavigatorGpu = typeof navigator !== 'undefined' && navigator.gpu !== undefined;
  const backend = await setBackend('webgpu');
  const got = await deformConv2d(args, params);
  return { hasNavigatorGpu, info: backend.info, shape: got.shape, ...compare(got.data, want.data) };
});
