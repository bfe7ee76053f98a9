// How a session connection reaches a node and opens a session stream there: over gRPC (the shared stubs of
// stub-pool.ts, one Forelock.Session call or one channel of the process's Sessions stream) in production, and any
// other way a test or a simulator injects.
import { connectivityState } from '@grpc/grpc-js';
import type { ClientTls } from '../security/client-tls.js';
import { TimeoutError, UnavailableError } from './errors.js';
import { acquireStub, openSessionStream, releaseStub } from './stub-pool.js';
import type { ForelockStub, SessionStream } from './wire.js';

/** Dials session streams for one session connection. */
export interface SessionDialer {
  /**
   * Resolves once `address` accepts a connection; rejects at once when the connection fails (refused, or still in
   * its reconnect backoff) and after `timeoutMs` when nothing answers (a crashed host drops the handshake). Resolves
   * as soon as `abandoned()` says the caller no longer waits.
   */
  reachable(address: string, timeoutMs: number, abandoned: () => boolean): Promise<void>;
  /** Opens a session stream on `address` carrying `token` (none: null); throws when it cannot dial. */
  open(address: string, token: string | null): SessionStream;
  /** The session is over: gives back what was held for every address. */
  release(): void;
}

/** The gRPC dialer: a shared stub per address, held from the first dial until `release`. */
export function grpcSessionDialer(multiplex: boolean, tls: ClientTls | undefined): SessionDialer {
  const stubs = new Map<string, ForelockStub>();
  const stub = (address: string): ForelockStub => {
    let held = stubs.get(address);
    if (!held) {
      held = acquireStub(address, tls);
      stubs.set(address, held);
    }
    return held;
  };
  return {
    reachable(address, timeoutMs, abandoned) {
      const channel = stub(address).getChannel();
      const deadline = new Date(Date.now() + timeoutMs);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (abandoned()) return resolve(); // the dial loop stops on its own
          const state = channel.getConnectivityState(true);
          if (state === connectivityState.READY) return resolve();
          if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN) {
            return reject(new UnavailableError(`cannot connect to ${address}`));
          }
          channel.watchConnectivityState(state, deadline, (err) => {
            if (err) reject(new TimeoutError(`${address} did not accept a connection within ${timeoutMs} ms`));
            else check();
          });
        };
        check();
      });
    },
    open(address, token) {
      stub(address);
      return openSessionStream(address, multiplex, tls, token);
    },
    release() {
      for (const address of stubs.keys()) releaseStub(address, tls);
      stubs.clear();
    },
  };
}
