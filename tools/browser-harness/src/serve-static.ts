/** A localhost server for browser tests: fixed pages plus directories of built modules under URL prefixes. */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The in-page helpers every test page may import (page/: the tensor codec, the golden-case runner), served under `/harness/`. */
const HARNESS_PAGE_DIR = fileURLToPath(new URL('../page/', import.meta.url));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.html': 'text/html',
  '.map': 'application/json',
};

export interface StaticSite {
  /** URL path (e.g. `/page.html`) -> HTML file served there. */
  readonly pages: Readonly<Record<string, string>>;
  /** URL prefix (e.g. `/core/`) -> directory served under it. */
  readonly roots: Readonly<Record<string, string>>;
  /** Extra response headers per URL path (COOP/COEP for cross-origin isolation, ...). */
  readonly headers?: (pathname: string) => Record<string, string>;
}

export interface StaticServer {
  readonly origin: string;
  close(): Promise<void>;
}

/**
 * Serves `site` on 127.0.0.1 at a free port, plus the harness's in-page helpers under `/harness/`;
 * nothing outside its pages and roots is reachable.
 */
export function serveStatic(site: StaticSite): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const headers = { 'Cache-Control': 'no-store', ...site.headers?.(url.pathname) };
    const page = site.pages[url.pathname];
    if (page !== undefined) {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end(readFileSync(page));
      return;
    }
    for (const [prefix, root] of Object.entries({ '/harness/': HARNESS_PAGE_DIR, ...site.roots })) {
      if (!url.pathname.startsWith(prefix)) continue;
      const file = normalize(join(root, url.pathname.slice(prefix.length)));
      if (file.startsWith(root) && existsSync(file)) {
        res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
        return;
      }
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({
        origin: `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    }),
  );
}
