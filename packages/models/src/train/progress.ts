/**
 * A single-line progress bar: on a TTY it redraws one line with `\r`; elsewhere (CI logs, pipes) it
 * prints a full line every `intervalMs` (default 5 s) and at the end of each epoch. Platform-free: give it
 * any `{ write(s), isTTY? }`, e.g. `process.stderr`.
 */
export interface ProgressSink {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressState {
  readonly epoch: number;
  readonly epochs: number;
  /** Images done in this epoch and per epoch. */
  readonly done: number;
  readonly total: number;
  /** Running means over this epoch. */
  readonly loss: number;
  readonly accuracy: number;
  /** Images per second since training began. */
  readonly imagesPerSecond: number;
  /** Seconds left for the whole run. */
  readonly etaSeconds: number;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function formatProgress(p: ProgressState, label = '', width = 20): string {
  const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  const filled = Math.round(frac * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  return (
    `${label ? `${label} ` : ''}epoch ${p.epoch}/${p.epochs} ${bar} ${p.done}/${p.total} ` +
    `loss ${p.loss.toFixed(4)} acc ${(100 * p.accuracy).toFixed(1)}% ${p.imagesPerSecond.toFixed(1)} img/s ETA ${formatDuration(p.etaSeconds)}`
  );
}

export class ProgressBar {
  private last = -Infinity;
  private drawn = false;

  constructor(
    private readonly sink: ProgressSink,
    private readonly label = '',
    private readonly intervalMs = 5000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  update(p: ProgressState, force = false): void {
    const line = formatProgress(p, this.label);
    if (this.sink.isTTY) {
      const cols = this.sink.columns ?? 200;
      this.sink.write(`\r${line.slice(0, Math.max(20, cols - 1))}\x1b[K`);
      this.drawn = true;
      return;
    }
    const t = this.now();
    if (force || t - this.last >= this.intervalMs) {
      this.sink.write(`${line}\n`);
      this.last = t;
    }
  }

  /** Ends the redrawn line (TTY) so that what follows starts on a new line. */
  done(): void {
    if (this.sink.isTTY && this.drawn) this.sink.write('\n');
    this.drawn = false;
  }
}
