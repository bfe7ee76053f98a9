// Randomized Raft fault schedules, seeds 151-225 (one of four files that together run 300 seeds).
import { describe } from 'vitest';
import { seedRangeTest } from './raft-random-seeds.js';

describe('Raft under randomized faults (3- and 5-node clusters, 30 s of faults each)', () => {
  seedRangeTest(151, 75);
});
