/**
 * A local npm registry: verdaccio, in this process, on 127.0.0.1 at a free port, with its storage and
 * htpasswd in a folder of ours. No uplinks: nothing is proxied from the internet, so a package that was not
 * published to it is a 404. Publishing needs a user's token (`publish: $authenticated`), as on npmjs.com.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runServer } from 'verdaccio';

export interface LocalRegistry {
  /** `http://127.0.0.1:PORT/`, with the trailing slash npm writes into its config. */
  readonly url: string;
  /** Creates a user (as `npm adduser` does) and returns its bearer token. */
  addUser(name: string, password: string): Promise<string>;
  /** The registry's document of a package (its packument), or null for a 404. */
  packument(name: string): Promise<Packument | null>;
  close(): Promise<void>;
}

export interface Packument {
  name: string;
  'dist-tags': Record<string, string>;
  versions: Record<string, { version: string; dependencies?: Record<string, string>; dist: { tarball: string } }>;
}

export async function startRegistry(dir: string): Promise<LocalRegistry> {
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const configPath = join(dir, 'config.yaml');
  // Relative paths are the config file's folder's. Verdaccio writes its token secret into storage.
  writeFileSync(
    configPath,
    [
      'storage: ./storage',
      'auth:',
      '  htpasswd:',
      '    file: ./htpasswd',
      '    max_users: 1',
      'uplinks: {}',
      'packages:',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      '    unpublish: $authenticated',
      'web:',
      '  enable: false',
      'log: { type: stdout, format: pretty, level: error }',
      '',
    ].join('\n'),
  );
  const server = (await runServer(configPath)) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/`;

  return {
    url,
    async addUser(name, password) {
      const res = await fetch(new URL(`-/user/org.couchdb.user:${encodeURIComponent(name)}`, url), {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ _id: `org.couchdb.user:${name}`, name, password, type: 'user', roles: [] }),
      });
      const body = (await res.json()) as { token?: string; error?: string };
      if (!res.ok || typeof body.token !== 'string') throw new Error(`registry: adding user ${name} failed: ${res.status} ${JSON.stringify(body)}`);
      return body.token;
    },
    async packument(name) {
      const res = await fetch(new URL(name.replace('/', '%2f'), url), { headers: { accept: 'application/json' } });
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`registry: GET ${name}: ${res.status}`);
      return (await res.json()) as Packument;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
