// Process-wide sharing of gRPC stubs per address: many clients in one process (a benchmark's thousands of sessions,
// a worker pool) ride one channel per endpoint instead of one each, and by default one Sessions stream on it
// (session-mux.ts); a stub closes when its last user lets go.
import { type ClientTls, channelCredentials } from '../security/client-tls.js';
import { SessionMuxClient } from './session-mux.js';
import { type ForelockStub, forelockStub, type SessionStream, sessionChannelCodec } from './wire.js';

interface Entry {
  readonly stub: ForelockStub;
  mux: SessionMuxClient | null;
  users: number;
}

const shared = new Map<string, Entry>();

/** Channels are shared per address and TLS identity: two identities never ride one channel. */
function poolKey(address: string, tls: ClientTls | undefined): string {
  return tls === undefined ? address : `${address}#${tls.channelKey}`;
}

/**
 * A Forelock stub for `address` (over TLS with `tls`), shared with the process's other users of the same address and
 * TLS material; give it back with `releaseStub`.
 */
export function acquireStub(address: string, tls?: ClientTls): ForelockStub {
  const key = poolKey(address, tls);
  let entry = shared.get(key);
  if (!entry) {
    entry = { stub: forelockStub(address, channelCredentials(tls)), mux: null, users: 0 };
    shared.set(key, entry);
  }
  entry.users++;
  return entry.stub;
}

/**
 * A new session stream to `address` (which the caller holds with `acquireStub`): a channel of the process's shared
 * Sessions stream there when `multiplex` (and the server serves it), else a Session call of its own.
 */
export function openSessionStream(address: string, multiplex: boolean, tls?: ClientTls): SessionStream {
  const entry = shared.get(poolKey(address, tls));
  if (!entry) throw new Error(`no stub is held for ${address}: acquireStub() it first`);
  if (multiplex) {
    entry.mux ??= new SessionMuxClient(entry.stub, sessionChannelCodec());
    if (entry.mux.supported) return entry.mux.open();
  }
  return entry.stub.Session();
}

/** Gives back a stub from `acquireStub`; the channel closes when nobody uses it any more. */
export function releaseStub(address: string, tls?: ClientTls): void {
  const key = poolKey(address, tls);
  const entry = shared.get(key);
  if (!entry) return;
  entry.users--;
  if (entry.users <= 0) {
    shared.delete(key);
    entry.mux?.close();
    entry.stub.close();
  }
}
