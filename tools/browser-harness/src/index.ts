/** Test-only harness shared by the backends' browser tests. */
export { serveStatic, type StaticServer, type StaticSite } from './serve-static.js';
export { launchChromium, type Browser } from './launch-chromium.js';
export { checkPageResults, pagePayload, type PageCheck } from './golden-in-page.js';
