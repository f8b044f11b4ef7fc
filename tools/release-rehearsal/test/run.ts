/** Child processes for the rehearsal: asynchronous (the registry runs in this process), with a clean npm env. */
import { execFile } from 'node:child_process';

const started = Date.now();

/** A progress line with the seconds since the rehearsal started. */
export function step(message: string): void {
  console.log(`[release-rehearsal +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}

/**
 * `process.env` without npm configuration variables: under `pnpm test` the test inherits `npm_config_*`
 * from pnpm (a registry among them), which must not leak into the rehearsal's commands.
 * Git gets an identity and no user or system configuration (the rehearsal commits and tags in its copy).
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_config_/i.test(key)) env[key] = value;
  }
  return {
    ...env,
    ONNXRUNTIME_NODE_INSTALL: 'skip',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Release Rehearsal',
    GIT_AUTHOR_EMAIL: 'release-rehearsal@localhost',
    GIT_COMMITTER_NAME: 'Release Rehearsal',
    GIT_COMMITTER_EMAIL: 'release-rehearsal@localhost',
    ...extra,
  };
}

/**
 * Runs `file args` in `cwd` and resolves with its stdout; rejects with the command, exit code and the tail
 * of its output. Never synchronous: a blocked event loop would stall the in-process registry.
 */
export function run(file: string, args: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: opts.cwd, env: opts.env ?? cleanEnv(), timeout: opts.timeoutMs ?? 180_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve(stdout);
          return;
        }
        const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-40).join('\n');
        reject(new Error(`\`${file} ${args.join(' ')}\` in ${opts.cwd} failed (${error.code ?? error.signal ?? error.message}):\n${tail}`));
      },
    );
  });
}
