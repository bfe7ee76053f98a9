// Leader-only Admin calls sent to a follower of a real 3-node cluster on 127.0.0.1: the follower forwards them to
// the leader once and answers with the leader's reply or status (docs/protocol.md, admin calls); a call that was
// already forwarded is refused with NOT_LEADER instead of being sent on again.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORWARDED_BY_METADATA } from '../../src/server/admin-forwarder.js';
import { ERROR_CODE_METADATA, LEADER_ADDRESS_METADATA } from '../../src/server/grpc-status.js';
import type { NodeServer } from '../../src/server/node-server.js';
import { forelockServices } from '../../src/util/proto.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, adminClient, openSession, startCluster, type TestCluster } from './server-harness.js';

let cluster: TestCluster;
let leader: NodeServer;
let follower: NodeServer;
let admin: ReturnType<typeof adminClient>;

beforeAll(async () => {
  cluster = await startCluster(3);
  leader = await cluster.leader();
  follower = cluster.nodes.find((node) => node !== leader)!;
  await waitFor('the follower to know the leader', () => follower.raft.status().leaderId === leader.config.id);
  admin = adminClient(addressOf(follower));
});

afterAll(async () => {
  admin?.close();
  await cluster?.close();
});

/** A lock held by a fresh session on the leader. */
async function heldOnLeader(name: string) {
  const session = await openSession(addressOf(leader), { clientName: 'forwarding', ttlMs: 10_000 });
  session.stream.send({ acquire: { requestSeq: '1', name, waitMs: 0, fenced: true } });
  const grant = (await session.stream.next('acquire')).acquire as { token: string; status: string };
  expect(grant.status).toBe('GRANTED');
  return { ...session, token: grant.token };
}

/** Calls `method` on `address` with `metadata`; the gRPC error it ends with (the call must fail). */
function refusal(
  address: string,
  method: string,
  request: object,
  metadata: grpc.Metadata,
): Promise<grpc.ServiceError> {
  const { Admin } = forelockServices();
  const client = new Admin(address, grpc.credentials.createInsecure());
  const call = (client as unknown as Record<string, (...args: unknown[]) => void>)[method]!;
  return new Promise<grpc.ServiceError>((resolve, reject) => {
    call.call(client, request, metadata, (error: grpc.ServiceError | null) => {
      client.close();
      if (error) resolve(error);
      else reject(new Error(`${method} succeeded on ${address}; a refusal was expected`));
    });
  });
}

describe('a follower forwards leader-only Admin calls to the leader', () => {
  it('ListLocks on a follower answers with the leader’s locks', async () => {
    const holder = await heldOnLeader('forward/list');
    const reply = await admin.call<{ locks: { name: string; holders: { token: string; client: string }[] }[] }>(
      'ListLocks',
      { prefix: 'forward/' },
    );
    expect(reply.locks).toEqual([
      expect.objectContaining({
        name: 'forward/list',
        holders: [
          expect.objectContaining({ token: holder.token, client: 'forwarding', session: holder.opened.sessionId }),
        ],
      }),
    ]);
    holder.stream.cancel();
  });

  it('Revoke on a follower revokes on the leader: the holder is told, and the reply names it', async () => {
    const holder = await heldOnLeader('forward/revoke');
    const reply = await admin.call<{ revoked: Record<string, unknown>[] }>('Revoke', {
      name: 'forward/revoke',
      force: true,
      reason: 'forwarding test',
    });
    expect(reply.revoked).toEqual([
      expect.objectContaining({ session: holder.opened.sessionId, token: holder.token, immediate: true }),
    ]);
    const notice = (await holder.stream.next('revoked')).revoked;
    expect(notice).toMatchObject({ resourceId: 'forward/revoke', token: holder.token, reason: 'forwarding test' });
    const after = await admin.call<{ locks: unknown[] }>('ListLocks', { prefix: 'forward/revoke' });
    expect(after.locks).toEqual([]);
    holder.stream.cancel();
  });

  it('the leader’s refusal comes back unchanged: its code, message and error-code trailer', async () => {
    const error = await refusal(addressOf(follower), 'Revoke', { name: '' }, new grpc.Metadata());
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toContain('lock name must be');
    expect(error.metadata.get(ERROR_CODE_METADATA)).toEqual(['INVALID_ARGUMENT']);
  });

  it('a call already forwarded is refused by a follower with NOT_LEADER and the leader in the trailers', async () => {
    const metadata = new grpc.Metadata();
    metadata.set(FORWARDED_BY_METADATA, 'some-other-node');
    const error = await refusal(addressOf(follower), 'ListLocks', {}, metadata);
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.metadata.get(ERROR_CODE_METADATA)).toEqual(['NOT_LEADER']);
    expect(error.metadata.get(LEADER_ADDRESS_METADATA)).toEqual([cluster.peers[leader.config.id]]);
  });

  it('Status is not forwarded: it reports the follower’s own view', async () => {
    const status = await admin.call<{ id: string; leader: string }>('Status', {});
    expect(status).toMatchObject({ id: follower.config.id, leader: leader.config.id });
  });
});
