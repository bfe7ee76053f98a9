// The chaos scenarios of issue 6, each its own test on a fresh 3-node cluster (the starred ones also on 5 nodes),
// each followed by every check over its recorded history; prints the table of measured recovery times at the end.

import { afterAll, describe, it } from 'vitest';
import { reportResults } from './harness/results.js';
import { runScenario } from './harness/scenario.js';
import { leaderCrash } from './scenarios/leader-crash.js';

describe('chaos scenarios', () => {
  afterAll(() => reportResults());

  it('1. leader crash under load (3 nodes)', () => runScenario('leader-crash', 3, leaderCrash));
  it('1. leader crash under load (5 nodes)', () => runScenario('leader-crash', 5, leaderCrash));
});
