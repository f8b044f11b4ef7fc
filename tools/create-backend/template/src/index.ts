/**
 * @dcnv2/backend-__name__: the __name__ backend of @dcnv2/core.
 */
import type { BackendProvider } from '@dcnv2/core';
import { __Name__Backend, type __Name__BackendOptions } from './__name__-backend.js';

export { __Name__Backend, type __Name__BackendOptions } from './__name__-backend.js';

/** Creates a __name__ backend. Pass it to `registerBackend('__name__', () => create__Name__Backend())` or use it directly. */
export function create__Name__Backend(options?: __Name__BackendOptions | null): __Name__Backend {
  return new __Name__Backend(options ?? {});
}

/** For tools that create backends by name: `pnpm conformance --backend __name__`, benchmarks. */
export const dcnBackend: BackendProvider = {
  name: '__name__',
  create: (options) => create__Name__Backend(options as __Name__BackendOptions | null | undefined),
};
