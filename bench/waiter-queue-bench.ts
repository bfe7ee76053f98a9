// Benchmark of one lock's waiter queue (issue 13, item 7): the cost of cancelling a waiter from the middle of the queue
// and of the hand-off at its head, at 1,000 to 100,000 waiters. "before" is the array the state machine used
// (findIndex + splice to cancel, shift to hand off); "after" is WaiterQueue, alone and inside a LockStateMachine.
// Then the cost of one deadlock check on waits-for chains of 2,500 to 40,000 sessions. Prints tables (and JSON with
// --json); it asserts no timing, and stops only if a chain fails to close its cycle.
import { hashSecret } from '../src/lock/secret.js';
import { LockStateMachine } from '../src/lock/state-machine.js';
import { WaiterQueue } from '../src/lock/waiter-queue.js';

const LENGTHS = [1_000, 10_000, 100_000];
/** Operations timed per row, taken around the middle of the queue. */
const OPERATIONS = 500;

interface Row {
  readonly structure: string;
  readonly waiters: number;
  readonly cancelUs: number;
  readonly handOffUs: number;
}

interface Entry {
  readonly sessionId: string;
}

function microsPerOperation(operations: number, run: () => void): number {
  const started = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - started) / 1000 / operations;
}

function entries(length: number): Entry[] {
  return Array.from({ length }, (_, i) => ({ sessionId: `w${i}` }));
}

/** The middle `OPERATIONS` sessions of a queue of `length`, in the order they are cancelled. */
function middleSessions(length: number): string[] {
  const from = Math.floor(length / 2) - OPERATIONS / 2;
  return Array.from({ length: OPERATIONS }, (_, i) => `w${from + i}`);
}

function arrayRow(length: number): Row {
  const queue = entries(length);
  const cancelUs = microsPerOperation(OPERATIONS, () => {
    for (const sessionId of middleSessions(length)) {
      const index = queue.findIndex((w) => w.sessionId === sessionId);
      queue.splice(index, 1);
    }
  });
  const handOffUs = microsPerOperation(OPERATIONS, () => {
    for (let i = 0; i < OPERATIONS; i++) queue.shift();
  });
  return { structure: 'before: array', waiters: length, cancelUs, handOffUs };
}

function waiterQueueRow(length: number): Row {
  const queue = WaiterQueue.from(entries(length));
  const cancelUs = microsPerOperation(OPERATIONS, () => {
    for (const sessionId of middleSessions(length)) queue.remove(sessionId);
  });
  const handOffUs = microsPerOperation(OPERATIONS, () => {
    for (let i = 0; i < OPERATIONS; i++) queue.shift();
  });
  return { structure: 'after: WaiterQueue', waiters: length, cancelUs, handOffUs };
}

/** A LockStateMachine driven one entry at a time, a millisecond apart. */
function drivenMachine(maxWaitersPerLock: number) {
  const machine = new LockStateMachine({ maxWaitersPerLock });
  let atMs = 1_000_000;
  const apply = (command: Parameters<LockStateMachine['applyEntry']>[0]['command']) =>
    machine.applyEntry({ atMs: atMs++, command });
  const secretHash = hashSecret('bench');
  const open = (sessionId: string) =>
    apply({ type: 'session-open', sessionId, secretHash, ttlMs: 60_000, clientName: sessionId });
  const acquire = (sessionId: string, name: string, requestSeq: number) =>
    apply({
      type: 'acquire',
      sessionId,
      requestSeq,
      name,
      mode: 'exclusive',
      fenced: false,
      preemptible: true,
      tryOnly: false,
    });
  return { machine, apply, open, acquire };
}

/** The same through the state machine: a 'cancel' entry each, then a 'release' entry that grants the next in line. */
function stateMachineRow(length: number): Row {
  const { machine, apply, open, acquire: acquireOf } = drivenMachine(length);
  const acquire = (sessionId: string) => acquireOf(sessionId, 'x', 1);
  let granted = { sessionId: 'holder', token: 0n };
  machine.onEvent((event) => {
    if (event.type === 'granted') granted = { sessionId: event.sessionId, token: event.token };
  });
  open('holder');
  acquire('holder');
  for (let i = 0; i < length; i++) {
    open(`w${i}`);
    acquire(`w${i}`);
  }
  const cancelUs = microsPerOperation(OPERATIONS, () => {
    for (const sessionId of middleSessions(length)) apply({ type: 'cancel', sessionId, requestSeq: 2, name: 'x' });
  });
  const handOffUs = microsPerOperation(OPERATIONS, () => {
    for (let i = 0; i < OPERATIONS; i++) {
      apply({ type: 'release', sessionId: granted.sessionId, requestSeq: 3, name: 'x', token: granted.token });
    }
  });
  return { structure: 'after: LockStateMachine', waiters: length, cancelUs, handOffUs };
}

/** A deadlock check that walks a waits-for chain of `length` sessions and finds the cycle it would close. */
interface ChainRow {
  readonly chain: number;
  /** Each check walks the whole chain: the longest single apply of the acquire refused with DEADLOCK. */
  readonly worstCheckMs: number;
  readonly medianCheckMs: number;
}

const CHAIN_LENGTHS = [2_500, 5_000, 10_000, 20_000, 40_000];
const CHECKS = 9;

function deadlockChainRow(length: number): ChainRow {
  const { open, acquire } = drivenMachine(length);
  for (let i = 0; i < length; i++) {
    open(`s${i}`);
    acquire(`s${i}`, `l${i}`, 1);
  }
  // From the end, so no wait is checked while the chain is built; then s<last> waiting for l0 would close it.
  for (let i = length - 2; i >= 0; i--) acquire(`s${i}`, `l${i + 1}`, 2);
  const times: number[] = [];
  for (let check = 0; check < CHECKS; check++) {
    const started = process.hrtime.bigint();
    const result = acquire(`s${length - 1}`, 'l0', 10 + check);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (result.status !== 'error' || result.code !== 'DEADLOCK') throw new Error('the chain did not close a cycle');
  }
  times.sort((x, y) => x - y);
  return { chain: length, worstCheckMs: times.at(-1)!, medianCheckMs: times[Math.floor(CHECKS / 2)]! };
}

const rows: Row[] = [];
for (const length of LENGTHS) rows.push(arrayRow(length), waiterQueueRow(length), stateMachineRow(length));
const chainRows = CHAIN_LENGTHS.map(deadlockChainRow);

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ queue: rows, deadlockChain: chainRows }, null, 2));
} else {
  console.log(`Waiter queue of one lock: microseconds per operation (${OPERATIONS} around the middle of the queue)`);
  console.log(
    `${'structure'.padEnd(26)}${'waiters'.padStart(9)}${'cancel µs'.padStart(12)}${'hand-off µs'.padStart(14)}`,
  );
  for (const row of rows) {
    console.log(
      `${row.structure.padEnd(26)}${String(row.waiters).padStart(9)}${row.cancelUs.toFixed(2).padStart(12)}${row.handOffUs.toFixed(2).padStart(14)}`,
    );
  }
  console.log(`\nDeadlock check on a waits-for chain (${CHECKS} checks each, every one walks the whole chain)`);
  console.log(`${'chain'.padEnd(10)}${'median ms'.padStart(12)}${'worst ms'.padStart(12)}`);
  for (const row of chainRows) {
    console.log(
      `${String(row.chain).padEnd(10)}${row.medianCheckMs.toFixed(1).padStart(12)}${row.worstCheckMs.toFixed(1).padStart(12)}`,
    );
  }
}
