/**
 * The timing schedule: warm-up, then rounds in which every implementation takes one turn, so that slow drift of
 * the machine (thermal, another process, the page cache) hits all of them alike instead of whichever happened
 * to run last. The order within a round rotates, so no implementation always follows the same neighbour.
 *
 * A turn is a batch of back-to-back runs sized so that each implementation spends about as long per turn as the
 * slowest one's single run (within [minTurnMs, maxTurnMs]; at most maxBatch and maxRuns/minRuns runs, so that a fast one
 * still takes part in every round of the minimum phase): fast cases collect more samples in the same wall time. Rounds
 * go on until every implementation has `minRuns` samples, then while the time budget lasts (and nobody has
 * reached `maxRuns`). Each sample is one run, timed inside the worker.
 */
import { median } from './stats.js';

export interface Participant {
  readonly key: string;
  /** Runs `count` times back to back and returns each run's time in milliseconds. */
  run(count: number): Promise<readonly number[]>;
}

export interface ScheduleOptions {
  /** Untimed runs per participant before the first round. */
  readonly warmupRuns: number;
  /** Samples every participant gets at least. */
  readonly minRuns: number;
  /** Wall time after which no new round starts once `minRuns` is reached, in ms. */
  readonly budgetMs: number;
  /** Samples after which a participant stops taking turns. */
  readonly maxRuns: number;
  /** Shortest turn worth interleaving, in ms (a turn of 0.05 ms runs would be all overhead). */
  readonly minTurnMs: number;
  /**
   * Longest a fast participant's turn grows to match a slow one, in ms: without a cap, a 6 s run elsewhere would
   * make every fast participant spend 6 s per round, and a round would cost participants x slowest.
   */
  readonly maxTurnMs: number;
  /** Most runs in one turn. */
  readonly maxBatch: number;
}

export const DEFAULT_SCHEDULE: ScheduleOptions = {
  warmupRuns: 2,
  minRuns: 10,
  budgetMs: 3000,
  maxRuns: 500,
  minTurnMs: 20,
  maxTurnMs: 100,
  maxBatch: 50,
};

export interface ScheduleProgress {
  readonly round: number;
  readonly elapsedMs: number;
  /** Smallest sample count so far. */
  readonly fewestRuns: number;
}

export type Clock = () => number;

/** Runs of a turn: enough to fill `turnMs` at the estimated run time, within [1, maxBatch] and what is left. */
export function batchSize(estimateMs: number, turnMs: number, maxBatch: number, remaining: number): number {
  const fit = estimateMs > 0 ? Math.floor(turnMs / estimateMs) : maxBatch;
  return Math.max(1, Math.min(maxBatch, remaining, fit));
}

/** Rotation of `items` by `round` positions. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * Times every participant, interleaved; resolves to each one's samples. A participant whose run throws is
 * dropped from later rounds and its error is returned beside the samples, so that one crash does not lose the
 * others' measurements.
 */
export async function measureInterleaved(
  participants: readonly Participant[],
  options: ScheduleOptions,
  onProgress?: (p: ScheduleProgress) => void,
  clock: Clock = () => performance.now(),
): Promise<{ samples: Map<string, number[]>; errors: Map<string, unknown> }> {
  const samples = new Map<string, number[]>(participants.map((p) => [p.key, []]));
  const estimates = new Map<string, number>();
  const errors = new Map<string, unknown>();
  const alive = () => participants.filter((p) => !errors.has(p.key));

  for (const p of participants) {
    if (options.warmupRuns <= 0) continue;
    try {
      const t = await p.run(options.warmupRuns);
      estimates.set(p.key, median(t));
    } catch (e) {
      errors.set(p.key, e);
    }
  }

  // A fast participant must not use up maxRuns in the first rounds and then sit out the rest of the minimum
  // phase (the slow ones need about minRuns rounds): cap its batch at maxRuns / minRuns.
  const cap = Math.max(1, Math.min(options.maxBatch, Math.floor(options.maxRuns / options.minRuns)));
  const start = clock();
  for (let round = 0; ; round++) {
    const active = alive();
    if (active.length === 0) break;
    const count = (p: Participant) => samples.get(p.key)!.length;
    const needMin = active.some((p) => count(p) < options.minRuns);
    const elapsed = clock() - start;
    if (!needMin && elapsed >= options.budgetMs) break;
    const takers = active.filter((p) => count(p) < options.maxRuns || count(p) < options.minRuns);
    if (takers.length === 0) break;
    const slowest = Math.max(...takers.map((p) => estimates.get(p.key) ?? 0));
    const turnMs = Math.max(options.minTurnMs, Math.min(options.maxTurnMs, slowest));
    for (const p of rotate(takers, round)) {
      const have = count(p);
      const remaining = Math.max(options.maxRuns, options.minRuns) - have;
      const n = batchSize(estimates.get(p.key) ?? turnMs, turnMs, cap, remaining);
      try {
        const t = await p.run(n);
        const s = samples.get(p.key)!;
        s.push(...t);
        estimates.set(p.key, median(s));
      } catch (e) {
        errors.set(p.key, e);
      }
    }
    onProgress?.({ round: round + 1, elapsedMs: clock() - start, fewestRuns: Math.min(...alive().map(count)) });
  }
  return { samples, errors };
}
