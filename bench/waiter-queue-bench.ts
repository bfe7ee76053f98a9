// Benchmark of one lock's waiter queue (issue 13, item 7): the cost of cancelling a waiter from the middle of the queue
// and of the hand-off at its head, at 1,000 to 100,000 waiters. "before" is the array the state machine used
// (findIndex + splice to cancel, shift to hand off); "after" is WaiterQueue, alone and inside a LockStateMachine.
// Prints a table (and JSON with --json); never fails.
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

/** The same through the state machine: a 'cancel' entry each, then a 'release' entry that grants the next in line. */
function stateMachineRow(length: number): Row {
  const machine = new LockStateMachine({ maxWaitersPerLock: length });
  let atMs = 1_000_000;
  const apply = (command: Parameters<LockStateMachine['applyEntry']>[0]['command']) =>
    machine.applyEntry({ atMs: atMs++, command });
  const secretHash = hashSecret('bench');
  const open = (sessionId: string) =>
    apply({ type: 'session-open', sessionId, secretHash, ttlMs: 60_000, clientName: sessionId });
  const acquire = (sessionId: string) =>
    apply({
      type: 'acquire',
      sessionId,
      requestSeq: 1,
      name: 'x',
      mode: 'exclusive',
      fenced: false,
      preemptible: true,
      tryOnly: false,
    });
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

const rows: Row[] = [];
for (const length of LENGTHS) rows.push(arrayRow(length), waiterQueueRow(length), stateMachineRow(length));

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows, null, 2));
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
}
