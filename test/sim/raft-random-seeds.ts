// Shared body of the randomized Raft tests: one vitest file per seed range, so vitest runs the ranges in parallel.
import { expect, it } from 'vitest';
import { replayCommand, runSchedule, type ScheduleResult } from '../../src/sim/fault-schedule.js';

/** Declares one test running seeds first..first+count-1 through the default fault schedule. */
export function seedRangeTest(first: number, count: number): void {
  it(`seeds ${first}-${first + count - 1}: every invariant holds and every acknowledged operation survives`, () => {
    const started = performance.now();
    const failures: ScheduleResult[] = [];
    let virtualMs = 0;
    let acknowledged = 0;
    let crashes = 0;
    let membershipChanges = 0;
    let readsChecked = 0;
    let duplicatesSkipped = 0;
    for (let seed = first; seed < first + count; seed++) {
      const result = runSchedule(seed);
      virtualMs += result.virtualMs;
      acknowledged += result.acknowledged;
      crashes += result.crashes;
      membershipChanges += result.membershipChanges;
      readsChecked += result.readsChecked;
      duplicatesSkipped += result.duplicatesSkipped;
      if (!result.ok) {
        failures.push(result);
        console.error(`seed ${seed} failed: ${result.error}\n  replay: ${replayCommand(seed)}`);
      }
    }
    console.log(
      `seeds ${first}-${first + count - 1}: ${count - failures.length}/${count} passed, ` +
        `${(virtualMs / 1000).toFixed(0)} s virtual, ` +
        `${acknowledged} operations acknowledged, ${crashes} crashes, ${membershipChanges} membership changes, ` +
        `${readsChecked} reads checked, ${duplicatesSkipped} retried duplicates skipped, in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
        `(replay any seed S with: ${replayCommand(0).replace(/0$/, 'S')})`,
    );
    expect(failures.map((failure) => `${replayCommand(failure.seed)}: ${failure.error}`)).toEqual([]);
  });
}
