// When the SDK (and the lock simulator's clients) send keepalives: at once on open, then every interval the leader
// names, counted again from an answer that changes it; never while no stream is open.
import { describe, expect, it } from 'vitest';
import { KeepaliveSchedule } from '../../src/client/keepalive-schedule.js';

type Step =
  | readonly ['opened', number, number]
  | readonly ['turn', number]
  | readonly ['interval', number, number, boolean]
  | readonly ['closed'];

function run(steps: readonly Step[]): KeepaliveSchedule {
  const schedule = new KeepaliveSchedule();
  for (const step of steps) {
    if (step[0] === 'opened') schedule.opened(step[1], step[2]);
    else if (step[0] === 'turn') schedule.turnTaken(step[1]);
    else if (step[0] === 'interval') expect(schedule.intervalAnswered(step[1], step[2])).toBe(step[3]);
    else schedule.closed();
  }
  return schedule;
}

describe('KeepaliveSchedule', () => {
  it.each<{ case: string; steps: Step[]; due: number | null }>([
    { case: 'nothing before a stream opens', steps: [], due: null },
    { case: 'at once when a stream opens', steps: [['opened', 1_000, 50]], due: 50 },
    {
      case: 'one interval after a turn',
      steps: [
        ['opened', 1_000, 50],
        ['turn', 60],
      ],
      due: 1_060,
    },
    {
      case: 'one new interval after an answer that changes it',
      steps: [
        ['opened', 1_000, 50],
        ['turn', 60],
        ['interval', 400, 300, true],
      ],
      due: 700,
    },
    {
      case: 'unchanged by an answer naming the same interval',
      steps: [
        ['opened', 1_000, 50],
        ['turn', 60],
        ['interval', 1_000, 300, false],
      ],
      due: 1_060,
    },
    {
      case: 'unchanged by an answer naming no interval',
      steps: [
        ['opened', 1_000, 50],
        ['turn', 60],
        ['interval', 0, 300, false],
      ],
      due: 1_060,
    },
    {
      case: 'never with no interval',
      steps: [
        ['opened', 0, 50],
        ['turn', 60],
      ],
      due: null,
    },
    { case: 'nothing once the stream closed', steps: [['opened', 1_000, 50], ['turn', 60], ['closed']], due: null },
    {
      case: 'nothing after a closed stream answers or takes a turn',
      steps: [['opened', 1_000, 50], ['closed'], ['interval', 500, 70, false], ['turn', 80]],
      due: null,
    },
    {
      case: 'at once again on a resume, then by the interval learned',
      steps: [['opened', 1_000, 50], ['closed'], ['interval', 500, 70, false], ['opened', 800, 900], ['turn', 900]],
      due: 1_700,
    },
  ])('is due $case', ({ steps, due }) => {
    expect(run(steps).nextDueAtMs).toBe(due);
  });

  it('is due from its time on', () => {
    const schedule = run([
      ['opened', 1_000, 50],
      ['turn', 60],
    ]);
    expect([1_059, 1_060, 5_000].map((t) => schedule.isDue(t))).toEqual([false, true, true]);
    schedule.closed();
    expect(schedule.isDue(5_000)).toBe(false);
  });
});
