import { describe, expect, it } from 'vitest';
import { EndpointPool, parseEndpoint } from '../../src/client/endpoints.js';

describe('endpoint parsing', () => {
  it.each([
    ['127.0.0.1:7400', { host: '127.0.0.1', port: 7400 }],
    ['node-1.example:1', { host: 'node-1.example', port: 1 }],
    ['[::1]:65535', { host: '[::1]', port: 65535 }],
  ])('accepts %s', (text, expected) => {
    expect(parseEndpoint(text)).toEqual(expected);
  });

  it.each(['', '127.0.0.1', ':7400', 'host:0', 'host:70000', 'host:port', 'a b:1'])('rejects "%s"', (text) => {
    expect(() => parseEndpoint(text)).toThrow(/host:port/);
  });
});

describe('endpoint rotation', () => {
  it('cycles through the endpoints in order', () => {
    const pool = new EndpointPool(['a:1', 'b:2', 'c:3']);
    expect(Array.from({ length: 7 }, () => pool.next())).toEqual(['a:1', 'b:2', 'c:3', 'a:1', 'b:2', 'c:3', 'a:1']);
  });

  it('dials a leader hint next, once, then resumes the rotation where it was', () => {
    const pool = new EndpointPool(['a:1', 'b:2', 'c:3']);
    expect(pool.next()).toBe('a:1');
    pool.hintLeader('c:3');
    expect(pool.next()).toBe('c:3');
    expect(pool.next()).toBe('b:2');
  });

  it('keeps a hinted leader that was not configured for later rotations', () => {
    const pool = new EndpointPool(['a:1']);
    pool.hintLeader('d:4');
    expect(pool.next()).toBe('d:4');
    expect(pool.size).toBe(2);
    expect([pool.next(), pool.next()]).toEqual(['a:1', 'd:4']);
  });

  it('drops duplicates and refuses an empty list or a malformed hint', () => {
    expect(new EndpointPool(['a:1', 'a:1', ' a:1 ']).size).toBe(1);
    expect(() => new EndpointPool([])).toThrow(/at least one endpoint/);
    expect(() => new EndpointPool(['a:1']).hintLeader('nope')).toThrow(/host:port/);
  });
});

describe('endpoint failures', () => {
  it('moves an endpoint that failed to the back and continues with the one that followed it', () => {
    const pool = new EndpointPool(['dead:1', 'b:2', 'c:3']);
    expect(pool.next()).toBe('dead:1');
    pool.failed('dead:1');
    expect(pool.list()).toEqual(['b:2', 'c:3', 'dead:1']);
    expect(pool.next()).toBe('b:2');
    pool.failed('b:2');
    expect([pool.next(), pool.next(), pool.next()]).toEqual(['c:3', 'dead:1', 'b:2']);
  });

  it('keeps the rotation position when a hinted endpoint fails', () => {
    const pool = new EndpointPool(['a:1', 'b:2', 'c:3']);
    expect(pool.next()).toBe('a:1');
    pool.hintLeader('b:2');
    expect(pool.next()).toBe('b:2');
    pool.failed('b:2');
    expect(pool.list()).toEqual(['a:1', 'c:3', 'b:2']);
    expect(pool.next()).toBe('c:3');
  });
});
