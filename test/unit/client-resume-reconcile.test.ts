// Which held locks the SDK (and the lock simulator's clients) count as lost when a session resumes.
import { describe, expect, it } from 'vitest';
import { locksLostOnResume } from '../../src/client/resume-reconcile.js';

const lock = (name: string, token: number) => ({ name, token: BigInt(token) });

describe('locksLostOnResume', () => {
  it.each([
    {
      case: 'none when the cluster lists every lock',
      held: [lock('a', 1), lock('b', 2)],
      listed: [lock('b', 2), lock('a', 1)],
      lost: [],
    },
    {
      case: 'a lock the cluster does not list',
      held: [lock('a', 1), lock('b', 2)],
      listed: [lock('a', 1)],
      lost: ['b'],
    },
    {
      case: 'a lock listed with another token (granted anew)',
      held: [lock('a', 1)],
      listed: [lock('a', 5)],
      lost: ['a'],
    },
    { case: 'every lock when nothing is listed', held: [lock('a', 1), lock('b', 2)], listed: [], lost: ['a', 'b'] },
    { case: 'nothing for a listed lock the client does not know', held: [], listed: [lock('c', 3)], lost: [] },
  ])('$case', ({ held, listed, lost }) => {
    expect(locksLostOnResume(held, listed)).toEqual(lost);
  });
});
