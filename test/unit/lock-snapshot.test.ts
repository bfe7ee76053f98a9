import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeLockEntries,
  decodeLockEntry,
  encodeLockBatch,
  encodeLockEntry,
  lockPackr,
} from '../../src/lock/codec.js';
import type { LockCommand, LockEntry, LockEvent, LockResult } from '../../src/lock/commands.js';
import { hashSecret } from '../../src/lock/secret.js';
import { LockStateMachine } from '../../src/lock/state-machine.js';
import { acquireCommand } from './lock-fixtures.js';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`lock-snapshot seed ${seed}; replay: FC_SEED=${seed} npx vitest run test/unit/lock-snapshot.test.ts`);

const sessionIds = ['s1', 's2', 's3', 's4'];
const lockNames = ['a', 'b', 'c'];
const options = {
  lockDelayMs: 700,
  maxWaitersPerLock: 3,
  maxSessionsPerClient: 3,
  dedupWindow: 4,
  usage: { bucketMs: 1_000, buckets: 5, holdSamples: 3, waitSamples: 3 },
};

const sessionId = fc.constantFrom(...sessionIds);
const lockName = fc.constantFrom(...lockNames);
const requestSeq = fc.integer({ min: 0, max: 40 });
/** -1n stands for "the session's current token of that lock", resolved when the entry is applied. */
const CURRENT = -1n;
const token = fc.oneof(
  { arbitrary: fc.constant(CURRENT), weight: 4 },
  { arbitrary: fc.bigInt({ min: 0n, max: 30n }), weight: 1 },
);

const open = fc.record({
  type: fc.constant('session-open' as const),
  sessionId,
  secretHash: sessionId.map((id) => hashSecret(id)),
  ttlMs: fc.constantFrom(2_000, 10_000, 10_000, 10_000, 500),
  clientName: fc.constantFrom('w1', 'w2'),
});

const command: fc.Arbitrary<LockCommand> = fc.oneof(
  { arbitrary: open, weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('session-close' as const), sessionId }), weight: 1 },
  {
    arbitrary: fc.record({
      type: fc.constant('sessions-expire' as const),
      sessionIds: fc.subarray(sessionIds, { maxLength: 2 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      type: fc.constant('acquire' as const),
      sessionId,
      requestSeq,
      name: lockName,
      mode: fc.constantFrom('exclusive' as const, 'shared' as const),
      fenced: fc.boolean(),
      preemptible: fc.boolean(),
      tryOnly: fc.boolean(),
      metadata: fc.constantFrom(undefined, '', 'candidate'),
      waitMs: fc.constantFrom(undefined, 0, 300, 1_500, 0xffff_ffff),
    }),
    weight: 10,
  },
  {
    arbitrary: fc.record({ type: fc.constant('release' as const), sessionId, requestSeq, name: lockName, token }),
    weight: 5,
  },
  { arbitrary: fc.record({ type: fc.constant('cancel' as const), sessionId, requestSeq, name: lockName }), weight: 2 },
  {
    arbitrary: fc.record(
      {
        type: fc.constant('revoke' as const),
        name: lockName,
        sessionId,
        token,
        cause: fc.constantFrom('operator' as const, 'operator-force' as const, 'preemption' as const),
        reason: fc.constantFrom('', 'stale'),
      },
      { requiredKeys: ['type', 'name', 'cause', 'reason'] },
    ),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      type: fc.constant('revoke-scheduled' as const),
      name: lockName,
      sessionId,
      token,
      cause: fc.constantFrom('operator' as const, 'preemption' as const),
      reason: fc.constantFrom('', 'maintenance'),
      revokeAtMs: fc.integer({ min: 10_000, max: 200_000 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      type: fc.constant('waits-expire' as const),
      waits: fc.array(fc.record({ sessionId, name: lockName, requestSeq }), { maxLength: 3 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ type: 'tick' as const }), weight: 2 },
);

/** Commands with entry times that mostly move forward, sometimes backwards (a new leader's slower clock). */
const entries: fc.Arbitrary<LockEntry[]> = fc
  .tuple(
    fc.array(open, { minLength: 2, maxLength: 5 }),
    fc.array(fc.tuple(fc.integer({ min: -200, max: 900 }), command), { minLength: 20, maxLength: 150, size: 'max' }),
  )
  .map(([opens, steps]) => {
    let atMs = 10_000;
    return [
      ...opens.map((c) => ({ atMs, command: c })),
      ...steps.map(([deltaMs, c]) => {
        atMs += deltaMs;
        return { atMs, command: c };
      }),
    ];
  });

/** Replaces the CURRENT token marker with the session's token of that lock in `machine` (0n when none). */
function resolveTokens(machine: LockStateMachine, entry: LockEntry): LockEntry {
  const c = entry.command;
  if ((c.type !== 'release' && c.type !== 'revoke' && c.type !== 'revoke-scheduled') || c.token !== CURRENT) {
    return entry;
  }
  const holder = machine.lock(c.name)?.holders.find((h) => h.sessionId === c.sessionId);
  return { ...entry, command: { ...c, token: holder?.token ?? 0n } };
}

function run(machine: LockStateMachine, batch: readonly LockEntry[]): { results: LockResult[]; events: LockEvent[] } {
  const events: LockEvent[] = [];
  const stop = machine.onEvent((event) => events.push(event));
  const results = batch.map((entry, i) =>
    machine.apply({ index: i + 1, term: 1, type: 'normal', data: encodeLockEntry(resolveTokens(machine, entry)) }),
  );
  stop();
  return { results, events };
}

function observable(machine: LockStateMachine) {
  return {
    locks: machine.locks(),
    sessions: machine.sessions(),
    usage: machine.resources().map((name) => machine.usage(name)),
    nextDelay: machine.nextLockDelayEndMs(),
    dueWaits: [0, 500, 2_000].map((afterMs) => machine.dueWaits(machine.lastAppliedAtMs + afterMs)),
    pendingRevocations: machine.pendingRevocations(),
    token: machine.lastGrantedToken,
    atMs: machine.lastAppliedAtMs,
    secrets: sessionIds.map((id) => machine.verifySecret(id, id)),
  };
}

describe('snapshot and restore', () => {
  it('round-trip every state exactly and behave identically afterwards', () => {
    fc.assert(
      fc.property(entries, entries, (before, after) => {
        const original = new LockStateMachine(options);
        run(original, before);
        const image = original.snapshot();
        const restored = new LockStateMachine(options);
        restored.apply({
          index: 1,
          term: 1,
          type: 'normal',
          data: encodeLockEntry({ atMs: 1, command: { type: 'tick' } }),
        });
        restored.restore(image);
        expect(observable(restored)).toEqual(observable(original));
        expect(Buffer.from(restored.snapshot()).equals(Buffer.from(image))).toBe(true);
        const shifted = after.map((e) => ({ ...e, atMs: e.atMs + original.lastAppliedAtMs - 10_000 }));
        expect(run(restored, shifted)).toEqual(run(original, shifted));
        expect(observable(restored)).toEqual(observable(original));
        expect(Buffer.from(restored.snapshot()).equals(Buffer.from(original.snapshot()))).toBe(true);
      }),
      { seed, numRuns: 300 },
    );
  });

  it('keeps the token counter strictly increasing across snapshots', () => {
    fc.assert(
      fc.property(entries, (batch) => {
        const machine = new LockStateMachine(options);
        const tokens: bigint[] = [];
        machine.onEvent((event) => {
          if (event.type === 'granted') tokens.push(event.token);
        });
        batch.forEach((entry, i) => {
          machine.applyEntry(resolveTokens(machine, entry));
          if (i % 7 === 0) machine.restore(machine.snapshot());
        });
        for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
        expect(machine.lastGrantedToken).toBe(tokens.at(-1) ?? 0n);
      }),
      { seed, numRuns: 200 },
    );
  });
});

describe('snapshots in slices (docs/design.md, "Snapshots")', () => {
  const sliceBytes = fc.constantFrom(1, 40, 300, 4_096);
  /** `after`'s entries moved to follow `machine`'s last entry time. */
  const following = (machine: LockStateMachine, after: readonly LockEntry[]) =>
    after.map((e) => ({ ...e, atMs: e.atMs + machine.lastAppliedAtMs - 10_000 }));

  it('pack exactly the bytes of the whole map packed at once', () => {
    fc.assert(
      fc.property(entries, (before) => {
        const machine = new LockStateMachine(options);
        run(machine, before);
        const image = machine.snapshot();
        expect(Buffer.from(lockPackr.pack(lockPackr.unpack(image))).equals(Buffer.from(image))).toBe(true);
      }),
      { seed, numRuns: 100 },
    );
  });

  it('are the image of the state when they began, while entries go on being applied between their slices', () => {
    fc.assert(
      fc.property(entries, entries, sliceBytes, (before, after, slice) => {
        const machine = new LockStateMachine(options);
        const replica = new LockStateMachine(options);
        run(machine, before);
        run(replica, before);
        const job = machine.beginSnapshot(slice);
        let image = job.step();
        for (const entry of following(machine, after)) {
          machine.applyEntry(resolveTokens(machine, entry));
          image ??= job.step();
        }
        while (image === undefined) image = job.step();
        expect(Buffer.from(image).equals(Buffer.from(replica.snapshot()))).toBe(true);
        const restored = new LockStateMachine(options);
        restored.restore(image);
        expect(observable(restored)).toEqual(observable(replica));
      }),
      { seed, numRuns: 300 },
    );
  });

  it('restore in slices: the old state stays whole until the last slice, which puts the image state in place', () => {
    fc.assert(
      fc.property(entries, entries, sliceBytes, (before, other, slice) => {
        const source = new LockStateMachine(options);
        run(source, other);
        const image = source.snapshot();
        const machine = new LockStateMachine(options);
        run(machine, before);
        const old = machine.snapshot();
        const job = machine.beginRestore(image, slice);
        while (!job.step()) expect(Buffer.from(machine.snapshot()).equals(Buffer.from(old))).toBe(true);
        expect(Buffer.from(machine.snapshot()).equals(Buffer.from(image))).toBe(true);
        expect(observable(machine)).toEqual(observable(source));
      }),
      { seed, numRuns: 200 },
    );
  });

  it('several at once, each the image of the state when it began; a cancelled one keeps nothing', () => {
    const machine = new LockStateMachine(options);
    const apply = (command: LockCommand) => machine.applyEntry({ atMs: 10_000, command });
    const acquire = (requestSeq: number, name: string): LockCommand => acquireCommand('s1', requestSeq, name);
    apply({ type: 'session-open', sessionId: 's1', secretHash: hashSecret('s1'), ttlMs: 10_000, clientName: 'w1' });
    const cancelled = machine.beginSnapshot(1);
    expect(cancelled.step()).toBeUndefined();
    const first = machine.beginSnapshot(1);
    const atFirst = machine.snapshot();
    apply(acquire(1, 'a'));
    cancelled.cancel();
    const second = machine.beginSnapshot(1);
    const atSecond = machine.snapshot();
    apply(acquire(2, 'b'));
    apply({ type: 'release', sessionId: 's1', requestSeq: 3, name: 'a', token: 1n });
    const finish = (job: { step(): Uint8Array | undefined }) => {
      let image = job.step();
      while (image === undefined) image = job.step();
      return image;
    };
    expect(Buffer.from(finish(second)).equals(Buffer.from(atSecond))).toBe(true);
    expect(Buffer.from(finish(first)).equals(Buffer.from(atFirst))).toBe(true);
    expect(Buffer.from(atFirst).equals(Buffer.from(atSecond))).toBe(false);
    for (let i = 0; i < 20; i++) expect(cancelled.step()).toBeUndefined();
  });

  it('a cancelled restore changes nothing, and a bad image is refused with the state kept', () => {
    const machine = new LockStateMachine(options);
    run(machine, [
      {
        atMs: 10_000,
        command: {
          type: 'session-open',
          sessionId: 's1',
          secretHash: hashSecret('s1'),
          ttlMs: 10_000,
          clientName: 'w1',
        },
      },
    ]);
    const old = machine.snapshot();
    const other = new LockStateMachine(options);
    const job = machine.beginRestore(other.snapshot(), 1);
    job.step();
    job.cancel();
    expect(job.step()).toBe(true);
    expect(Buffer.from(machine.snapshot()).equals(Buffer.from(old))).toBe(true);
    const wrongVersion = lockPackr.pack({ ...(lockPackr.unpack(old) as object), version: 2 });
    expect(() => machine.restore(wrongVersion)).toThrow(/unsupported lock snapshot version 2/);
    expect(() => machine.restore(old.subarray(0, old.byteLength - 3))).toThrow();
    expect(Buffer.from(machine.snapshot()).equals(Buffer.from(old))).toBe(true);
  });
});

describe('snapshot of the dedup window', () => {
  const acquireOf = (requestSeq: number, name: string): LockEntry => ({
    atMs: 20_000,
    command: acquireCommand('s1', requestSeq, name),
  });

  it('carries what each remembered request asked for: after a restore another request under its seq is refused', () => {
    const original = new LockStateMachine(options);
    original.applyEntry({
      atMs: 10_000,
      command: { type: 'session-open', sessionId: 's1', secretHash: hashSecret('s1'), ttlMs: 10_000, clientName: 'w1' },
    });
    const granted = original.applyEntry(acquireOf(1, 'a'));
    const restored = new LockStateMachine(options);
    restored.restore(original.snapshot());
    expect(restored.applyEntry(acquireOf(1, 'b'))).toMatchObject({ status: 'error', code: 'INVALID_ARGUMENT' });
    expect(restored.lock('b')).toBeUndefined();
    expect(restored.applyEntry(acquireOf(1, 'a'))).toEqual(granted);
  });

  it('restores a snapshot written before requests were remembered, answering every reuse as a retry', () => {
    const original = new LockStateMachine(options);
    original.applyEntry({
      atMs: 10_000,
      command: { type: 'session-open', sessionId: 's1', secretHash: hashSecret('s1'), ttlMs: 10_000, clientName: 'w1' },
    });
    const granted = original.applyEntry(acquireOf(1, 'a'));
    const image = lockPackr.unpack(original.snapshot()) as {
      sessions: { dedup: { results: unknown[][] } }[];
    };
    for (const session of image.sessions) {
      session.dedup.results = session.dedup.results.map(([seq, result]) => [seq, result]);
    }
    const restored = new LockStateMachine(options);
    restored.restore(lockPackr.pack(image));
    expect(restored.applyEntry(acquireOf(1, 'b'))).toEqual(granted);
    expect(restored.lock('b')).toBeUndefined();
  });
});

describe('batch entries', () => {
  /** `entries` cut into runs of 1..6 commands; every command of a run takes the run's first timestamp. */
  const batched = fc
    .tuple(entries, fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 60 }))
    .map(([all, sizes]) => {
      const runs: LockEntry[][] = [];
      let start = 0;
      for (let i = 0; start < all.length; i++) {
        const size = sizes[i % sizes.length]!;
        const atMs = all[start]!.atMs;
        runs.push(all.slice(start, start + size).map((entry) => ({ ...entry, atMs })));
        start += size;
      }
      return runs;
    });

  it('apply as their parts in order: the same results, events, dedup and state as one entry per command', () => {
    fc.assert(
      fc.property(batched, (runs) => {
        // One entry per command first, resolving the tokens each release/revoke names as it goes.
        const single = new LockStateMachine(options);
        const singleEvents: LockEvent[] = [];
        single.onEvent((event) => singleEvents.push(event));
        const singleResults: LockResult[] = [];
        const resolvedRuns: LockEntry[][] = [];
        let index = 0;
        for (const part of runs) {
          const resolved = part.map((entry) => {
            const withToken = resolveTokens(single, entry);
            singleResults.push(
              single.apply({ index: ++index, term: 1, type: 'normal', data: encodeLockEntry(withToken) }),
            );
            return withToken;
          });
          resolvedRuns.push(resolved);
        }
        // The same commands as one batch entry per run.
        const batch = new LockStateMachine(options);
        const batchEvents: LockEvent[] = [];
        batch.onEvent((event) => batchEvents.push(event));
        const batchResults: LockResult[] = [];
        resolvedRuns.forEach((part, i) => {
          const data = encodeLockBatch({ atMs: part[0]!.atMs, commands: part.map((entry) => entry.command) });
          expect(decodeLockEntries(data)).toEqual(part);
          const result = batch.apply({ index: i + 1, term: 1, type: 'normal', data });
          expect(result.status).toBe('batch');
          if (result.status === 'batch') batchResults.push(...result.results);
        });
        expect(batchResults).toEqual(singleResults);
        expect(batchEvents).toEqual(singleEvents);
        expect(observable(batch)).toEqual(observable(single));
        expect(Buffer.from(batch.snapshot()).equals(Buffer.from(single.snapshot()))).toBe(true);
      }),
      { seed, numRuns: 300 },
    );
  });

  it('answer a retry inside the same batch with the first result, applied once', () => {
    const machine = new LockStateMachine(options);
    machine.applyEntry({
      atMs: 1_000,
      command: { type: 'session-open', sessionId: 's1', secretHash: hashSecret('s1'), ttlMs: 10_000, clientName: 'w' },
    });
    const acquire: LockCommand = {
      type: 'acquire',
      sessionId: 's1',
      requestSeq: 7,
      name: 'a',
      mode: 'exclusive',
      fenced: false,
      preemptible: true,
      tryOnly: false,
    };
    const granted: LockEvent[] = [];
    machine.onEvent((event) => {
      if (event.type === 'granted') granted.push(event);
    });
    const result = machine.apply({
      index: 2,
      term: 1,
      type: 'normal',
      data: encodeLockBatch({ atMs: 2_000, commands: [acquire, acquire] }),
    });
    expect(result.status).toBe('batch');
    const [first, retry] = result.status === 'batch' ? result.results : [];
    expect(first).toEqual({ status: 'granted', token: 1n, grantedAtMs: 2_000 });
    expect(retry).toEqual(first);
    expect(granted).toHaveLength(1);
  });
});

describe('codec', () => {
  it.each([0n, 1n, 2n ** 53n + 1n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 100n])(
    'round-trips token %s as a bigint',
    (value) => {
      const entry: LockEntry = {
        atMs: 123.5,
        command: { type: 'release', sessionId: 's', requestSeq: 1, name: 'x', token: value },
      };
      const decoded = decodeLockEntry(encodeLockEntry(entry));
      expect(decoded).toEqual(entry);
      expect(typeof (decoded.command as { token: unknown }).token).toBe('bigint');
    },
  );

  it.each([
    ['not msgpack', new Uint8Array([0xc1])],
    ['a number', encodeLockEntry(5 as never)],
    ['no time', encodeLockEntry({ command: { type: 'tick' } } as never)],
    ['no command', encodeLockEntry({ atMs: 1 } as never)],
  ])('refuses %s', (_label, data) => {
    expect(() => decodeLockEntry(data)).toThrow();
  });

  it.each([
    ['an empty batch', encodeLockBatch({ atMs: 1, commands: [] })],
    ['a batch with a part that is no command', encodeLockBatch({ atMs: 1, commands: [{ type: 'tick' }, 5 as never] })],
    ['a batch without time', encodeLockBatch({ commands: [{ type: 'tick' }] } as never)],
  ])('refuses %s, and the state machine applies nothing of it', (_label, data) => {
    expect(() => decodeLockEntries(data)).toThrow(TypeError);
    const machine = new LockStateMachine(options);
    const before = Buffer.from(machine.snapshot());
    const result = machine.apply({ index: 1, term: 1, type: 'normal', data });
    expect(result).toMatchObject({ status: 'error', code: 'INVALID_ARGUMENT' });
    expect(Buffer.from(machine.snapshot()).equals(before)).toBe(true);
  });

  it('decodes a single entry as one command and refuses a batch where one entry is expected', () => {
    const entry: LockEntry = { atMs: 5, command: { type: 'tick' } };
    expect(decodeLockEntries(encodeLockEntry(entry))).toEqual([entry]);
    const batch = encodeLockBatch({ atMs: 5, commands: [{ type: 'tick' }, { type: 'tick' }] });
    expect(() => decodeLockEntry(batch)).toThrow(/batch/);
  });
});
