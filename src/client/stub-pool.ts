// Process-wide sharing of gRPC stubs per address: many clients in one process (a benchmark's thousands of sessions,
// a worker pool) ride one channel per endpoint instead of one each, and by default one Sessions stream on it per
// login token (session-mux.ts): a stream is authenticated once, when it opens, so sessions of another user, or opened
// after their token was renewed, ride a stream of their own; a stub closes when its last user lets go.
import { type ClientTls, channelCredentials } from '../security/client-tls.js';
import { authorizationMetadata } from './auth-token.js';
import { SessionMuxClient } from './session-mux.js';
import { type ForelockStub, forelockStub, type SessionStream, sessionChannelCodec } from './wire.js';

interface Entry {
  readonly stub: ForelockStub;
  /** The Sessions streams by the token they carry ('' for none). */
  readonly muxes: Map<string, SessionMuxClient>;
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
    entry = { stub: forelockStub(address, channelCredentials(tls)), muxes: new Map(), users: 0 };
    shared.set(key, entry);
  }
  entry.users++;
  return entry.stub;
}

/**
 * A new session stream to `address` (which the caller holds with `acquireStub`) carrying `token` (none: null): a
 * channel of the process's shared Sessions stream there for that token when `multiplex` (and the server serves it),
 * else a Session call of its own. Streams of other tokens left with no channel are closed.
 */
export function openSessionStream(
  address: string,
  multiplex: boolean,
  tls?: ClientTls,
  token: string | null = null,
): SessionStream {
  const entry = shared.get(poolKey(address, tls));
  if (!entry) throw new Error(`no stub is held for ${address}: acquireStub() it first`);
  if (multiplex) {
    const key = token ?? '';
    for (const [other, mux] of entry.muxes) {
      if (other !== key && mux.idle) {
        mux.close();
        entry.muxes.delete(other);
      }
    }
    let mux = entry.muxes.get(key);
    if (mux === undefined) {
      mux = new SessionMuxClient(entry.stub, sessionChannelCodec(), {}, () => authorizationMetadata(token));
      entry.muxes.set(key, mux);
    }
    if (mux.supported) return mux.open();
  }
  return entry.stub.Session(authorizationMetadata(token));
}

/** Gives back a stub from `acquireStub`; the channel closes when nobody uses it any more. */
export function releaseStub(address: string, tls?: ClientTls): void {
  const key = poolKey(address, tls);
  const entry = shared.get(key);
  if (!entry) return;
  entry.users--;
  if (entry.users <= 0) {
    shared.delete(key);
    for (const mux of entry.muxes.values()) mux.close();
    entry.stub.close();
  }
}
