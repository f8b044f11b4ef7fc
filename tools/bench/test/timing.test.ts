import { describe, expect, it } from 'vitest';
import { batchSize, measureInterleaved, rotate, type Participant, type ScheduleOptions } from '../src/timing.js';

/** A participant whose runs "take" `ms` on a fake clock, recording the order of turns. */
function fake(key: string, ms: number, clock: { t: number }, log: string[], failAfter = Infinity): Participant {
  let runs = 0;
  return {
    key,
    async run(count) {
      log.push(`${key}x${count}`);
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        if (++runs > failAfter) throw new Error(`${key} crashed`);
        clock.t += ms;
        out.push(ms);
      }
      return out;
    },
  };
}

const base: ScheduleOptions = { warmupRuns: 1, minRuns: 10, budgetMs: 0, maxRuns: 100, minTurnMs: 20, maxTurnMs: 1000, maxBatch: 50 };

describe('timing schedule', () => {
  it('sizes a turn to fill the slowest run time, within [1, maxBatch] and what is left', () => {
    expect(batchSize(100, 100, 50, 100)).toBe(1);
    expect(batchSize(1, 100, 50, 100)).toBe(50);
    expect(batchSize(10, 100, 50, 100)).toBe(10);
    expect(batchSize(10, 100, 50, 3)).toBe(3);
    expect(batchSize(500, 100, 50, 100)).toBe(1);
    expect(batchSize(0, 100, 50, 100)).toBe(50);
  });

  it('rotates the order by the round number', () => {
    expect(rotate(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(rotate(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(rotate(['a', 'b', 'c'], 4)).toEqual(['b', 'c', 'a']);
    expect(rotate([], 3)).toEqual([]);
  });

  it('gives every participant at least minRuns, interleaved round by round, fast ones in batches', async () => {
    const clock = { t: 0 };
    const log: string[] = [];
    const ps = [fake('slow', 100, clock, log), fake('fast', 1, clock, log)];
    const { samples, errors } = await measureInterleaved(ps, base, undefined, () => clock.t);
    expect(errors.size).toBe(0);
    expect(samples.get('slow')!.length).toBe(10);
    expect(samples.get('fast')!.length).toBeGreaterThanOrEqual(10);
    // Warm-up first, one turn each, then the turns alternate (order rotating each round).
    expect(log.slice(0, 2)).toEqual(['slowx1', 'fastx1']);
    const turns = log.slice(2);
    expect(turns.length).toBe(20);
    for (let round = 0; round < 10; round++) {
      const pair = turns.slice(2 * round, 2 * round + 2).map((t) => t.split('x')[0]);
      expect(new Set(pair)).toEqual(new Set(['slow', 'fast']));
    }
    // A fast participant fills the slow one's turn (100 ms / 1 ms), capped at maxRuns / minRuns = 10 so that it
    // still runs in every round.
    expect(turns.filter((t) => t.startsWith('fast')).every((t) => t === 'fastx10')).toBe(true);
    expect(samples.get('fast')!.length).toBe(100);
  });

  it('caps a fast participant\'s turn at maxTurnMs however slow the slowest run is', async () => {
    const clock = { t: 0 };
    const log: string[] = [];
    const ps = [fake('slow', 5000, clock, log), fake('fast', 2, clock, log)];
    await measureInterleaved(ps, { ...base, minRuns: 3, maxTurnMs: 100 }, undefined, () => clock.t);
    expect(log.filter((t) => t.startsWith('fast')).slice(1).every((t) => t === 'fastx33')).toBe(true);
  });

  it('keeps taking rounds while the budget lasts, and stops at maxRuns', async () => {
    const clock = { t: 0 };
    const log: string[] = [];
    const ps = [fake('a', 10, clock, log), fake('b', 10, clock, log)];
    const { samples } = await measureInterleaved(ps, { ...base, minRuns: 2, maxRuns: 30, budgetMs: 1e9 }, undefined, () => clock.t);
    expect(samples.get('a')!.length).toBe(30);
    expect(samples.get('b')!.length).toBe(30);
  });

  it('drops a participant that throws and keeps the others', async () => {
    const clock = { t: 0 };
    const log: string[] = [];
    const ps = [fake('ok', 5, clock, log), fake('bad', 5, clock, log, 3)];
    const { samples, errors } = await measureInterleaved(ps, { ...base, minRuns: 5, maxBatch: 1 }, undefined, () => clock.t);
    expect(errors.has('bad')).toBe(true);
    expect(errors.has('ok')).toBe(false);
    expect(samples.get('ok')!.length).toBeGreaterThanOrEqual(5);
  });
});
