// The SDK's answer to UNAUTHENTICATED against a scripted node that refuses every token (issue 10, item 4): an admin
// call and a session open are each made once more after a new login, then the SDK gives up with UnauthenticatedError;
// every call carried the token of the login before it as `authorization: Bearer TOKEN`.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/client/admin.js';
import { connect } from '../../src/client/client.js';
import { UnauthenticatedError } from '../../src/client/errors.js';
import { forelockServices } from '../../src/util/proto.js';

/** A node whose Login issues token-1, token-2, ... and which refuses every other call as UNAUTHENTICATED. */
async function refusingNode() {
  const logins: string[] = [];
  /** Each refused call: its method and the authorization it carried. */
  const refused: [string, string][] = [];
  const unauthenticated = (method: string, metadata: grpc.Metadata): Partial<grpc.StatusObject> => {
    refused.push([method, String(metadata.get('authorization')[0] ?? '')]);
    const trailers = new grpc.Metadata();
    trailers.set('forelock-error-code', 'UNAUTHENTICATED');
    return {
      code: grpc.status.UNAUTHENTICATED,
      details: 'the token is no longer valid; log in again',
      metadata: trailers,
    };
  };
  const { Forelock, Admin } = forelockServices();
  const server = new grpc.Server();
  server.addService(Admin.service, {
    Login: (call: grpc.ServerUnaryCall<{ user: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      logins.push(call.request.user);
      callback(null, { token: `token-${logins.length}`, expiresAtMs: Date.now() + 600_000 });
    },
    UserList: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(unauthenticated('UserList', call.metadata)),
  });
  server.addService(
    { Session: Forelock.service.Session! },
    {
      Session: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        // grpc-js ends a server stream with the status emitted as its 'error'.
        call.once('data', () => call.emit('error', unauthenticated('Session', call.metadata)));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, logins, refused, stop: () => server.forceShutdown() };
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

describe('a node that refuses every token', () => {
  it('an admin call is made once more after a new login, then fails UNAUTHENTICATED', async () => {
    const node = await refusingNode();
    stops.push(node.stop);
    const admin = new AdminClient({ endpoints: [node.address], auth: { user: 'alice', password: 'pw' } });
    stops.push(() => admin.close());
    await expect(admin.users.list()).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(node.logins).toEqual(['alice', 'alice']);
    expect(node.refused).toEqual([
      ['UserList', 'Bearer token-1'],
      ['UserList', 'Bearer token-2'],
    ]);
  });

  it('a session open is made once more after a new login, then connect() fails UNAUTHENTICATED', async () => {
    const node = await refusingNode();
    stops.push(node.stop);
    const failure = await connect({
      endpoints: [node.address],
      multiplex: false,
      connectTimeoutMs: 10_000,
      auth: { user: 'bob', password: 'pw' },
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UnauthenticatedError);
    expect(node.logins).toEqual(['bob', 'bob']);
    expect(node.refused.filter(([method]) => method === 'Session').map(([, authorization]) => authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-2',
    ]);
  });
});
