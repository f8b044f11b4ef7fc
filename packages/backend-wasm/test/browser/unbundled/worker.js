// What dist/worker.js used to be (tsc's output of src/worker.ts): it imports modules next to it, which a
// bundler that copies worker.js alone does not provide (./env.js is missing here on purpose).
import { isNode } from './env.js';
self.postMessage({ type: 'never', isNode });
