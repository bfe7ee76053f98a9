// Process-wide sharing of gRPC stubs per address: many clients in one process (a benchmark's thousands of sessions,
// a worker pool) ride one channel per endpoint instead of one each, and by default one Sessions stream on it
// (session-mux.ts); a stub closes when its last user lets go.
import * as grpc from '@grpc/grpc-js';
import { SessionMuxClient } from './session-mux.js';
import { type ForelockStub, forelockStub, type SessionStream, sessionChannelCodec } from './wire.js';

interface Entry {
  readonly stub: ForelockStub;
  mux: SessionMuxClient | null;
  users: number;
}

const shared = new Map<string, Entry>();

/** A Forelock stub for `address`, shared with the process's other users; give it back with `releaseStub`. */
export function acquireStub(address: string): ForelockStub {
  let entry = shared.get(address);
  if (!entry) {
    entry = { stub: forelockStub(address, grpc.credentials.createInsecure()), mux: null, users: 0 };
    shared.set(address, entry);
  }
  entry.users++;
  return entry.stub;
}

/**
 * A new session stream to `address` (which the caller holds with `acquireStub`): a channel of the process's shared
 * Sessions stream there when `multiplex` (and the server serves it), else a Session call of its own.
 */
export function openSessionStream(address: string, multiplex: boolean): SessionStream {
  const entry = shared.get(address);
  if (!entry) throw new Error(`no stub is held for ${address}: acquireStub() it first`);
  if (multiplex) {
    entry.mux ??= new SessionMuxClient(entry.stub, sessionChannelCodec());
    if (entry.mux.supported) return entry.mux.open();
  }
  return entry.stub.Session();
}

/** Gives back a stub from `acquireStub`; the channel closes when nobody uses it any more. */
export function releaseStub(address: string): void {
  const entry = shared.get(address);
  if (!entry) return;
  entry.users--;
  if (entry.users <= 0) {
    shared.delete(address);
    entry.mux?.close();
    entry.stub.close();
  }
}
