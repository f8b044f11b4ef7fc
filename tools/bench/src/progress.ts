/**
 * Progress on stderr, so that stdout carries only the markdown table (and can be piped or redirected). Every
 * line is stamped with the time since start: a long run shows where it is and how fast it moves.
 */
export interface Progress {
  /** A line of progress. */
  info(message: string): void;
  /** A warning: always shown, even when quiet. */
  warn(message: string): void;
}

export function stderrProgress(quiet: boolean, start: number = performance.now()): Progress {
  const stamp = () => {
    const s = Math.round((performance.now() - start) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  return {
    info(message) {
      if (!quiet) process.stderr.write(`[bench ${stamp()}] ${message}\n`);
    },
    warn(message) {
      process.stderr.write(`[bench ${stamp()}] warning: ${message}\n`);
    },
  };
}

export const silentProgress: Progress = { info() {}, warn() {} };
