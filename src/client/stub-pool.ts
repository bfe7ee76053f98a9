// Process-wide sharing of gRPC stubs per address: many clients in one process (a benchmark's thousands of sessions,
// a worker pool) ride one channel per endpoint instead of one each; a stub closes when its last user lets go.
import * as grpc from '@grpc/grpc-js';
import { type ForelockStub, forelockStub } from './wire.js';

interface Entry {
  readonly stub: ForelockStub;
  users: number;
}

const shared = new Map<string, Entry>();

/** A Forelock stub for `address`, shared with the process's other users; give it back with `releaseStub`. */
export function acquireStub(address: string): ForelockStub {
  let entry = shared.get(address);
  if (!entry) {
    entry = { stub: forelockStub(address, grpc.credentials.createInsecure()), users: 0 };
    shared.set(address, entry);
  }
  entry.users++;
  return entry.stub;
}

/** Gives back a stub from `acquireStub`; the channel closes when nobody uses it any more. */
export function releaseStub(address: string): void {
  const entry = shared.get(address);
  if (!entry) return;
  entry.users--;
  if (entry.users <= 0) {
    shared.delete(address);
    entry.stub.close();
  }
}
