// The test-only client link faults: frames of a named client reach the node later, in order; the fault hook's body.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClientLinkFaults, DelayedDelivery } from '../../src/server/client-link-faults.js';
import { parseFaultRequest } from '../../src/server/http.js';

describe('DelayedDelivery: a FIFO link with latency', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('delivers at once with no delay and nothing waiting', () => {
    const got: string[] = [];
    const line = new DelayedDelivery<string>(
      (item) => got.push(item),
      () => Date.now(),
    );
    line.push('a', 0);
    expect(got).toEqual(['a']);
  });

  it('holds each item its delay, and never lets a later one overtake an earlier one', () => {
    const got: [string, number][] = [];
    const line = new DelayedDelivery<string>(
      (item) => got.push([item, Date.now()]),
      () => Date.now(),
    );
    line.push('slow', 500);
    vi.advanceTimersByTime(100);
    line.push('fast', 50); // due at 150, but 'slow' is due at 500
    line.push('now', 0); // still behind the others
    vi.advanceTimersByTime(399);
    expect(got).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(got).toEqual([
      ['slow', 500],
      ['fast', 500],
      ['now', 500],
    ]);
  });

  it('drops what is still waiting when cleared', () => {
    const got: string[] = [];
    const line = new DelayedDelivery<string>(
      (item) => got.push(item),
      () => Date.now(),
    );
    line.push('a', 100);
    line.clear();
    vi.advanceTimersByTime(1000);
    expect(got).toEqual([]);
  });
});

describe('ClientLinkFaults', () => {
  it('delays only the named client, by its delay plus a share of its jitter, until cleared', () => {
    const faults = new ClientLinkFaults(() => 0.5);
    faults.set('slow-client', { delayMs: 200, jitterMs: 100 });
    expect(faults.delayMs('slow-client')).toBe(250);
    expect(faults.delayMs('other')).toBe(0);
    faults.set('slow-client', null);
    expect(faults.delayMs('slow-client')).toBe(0);
  });
});

describe('POST /test/faults body', () => {
  it('names a peer link or a client link; all-zero clears', () => {
    expect(parseFaultRequest('{"peer":"n2","delayMs":50,"dropRate":0.1}')).toEqual({
      peer: 'n2',
      fault: { delayMs: 50, jitterMs: 0, dropProbability: 0.1 },
    });
    expect(parseFaultRequest('{"client":"c1","delayMs":300,"jitterMs":20}')).toEqual({
      client: 'c1',
      fault: { delayMs: 300, jitterMs: 20 },
    });
    expect(parseFaultRequest('{"client":"c1","delayMs":0}')).toEqual({ client: 'c1', fault: null });
  });

  it('refuses a bad body with a message that says what is wrong', () => {
    expect(() => parseFaultRequest('{"client":"","delayMs":1}')).toThrow(/client must name a client/);
    expect(() => parseFaultRequest('{"client":"c1","dropRate":0.5}')).toThrow(/not dropRate/);
    expect(() => parseFaultRequest('{"client":"c1","delayMs":-1}')).toThrow(/delayMs must be a number from 0/);
    expect(() => parseFaultRequest('{"delayMs":1}')).toThrow(/peer must name a peer id/);
  });
});
