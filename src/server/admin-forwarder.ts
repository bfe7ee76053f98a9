// A follower's way to answer a leader-only Admin call: it sends the same request to the leader once and hands back
// the leader's reply or status, so an operator may call any node. A call that was already forwarded is never sent on
// again (the node that receives it refuses with NOT_LEADER instead), so two nodes that disagree about the leader
// cannot pass a call back and forth.
import * as grpc from '@grpc/grpc-js';
import { RaftNotLeaderError } from '../raft/errors.js';
import type { RaftNodeApi } from '../raft/node-api.js';
import { forelockServices } from '../util/proto.js';
import { AUTHORIZATION_METADATA } from './authenticator.js';
import { ERROR_CODE_METADATA } from './grpc-status.js';

/** Metadata key set on a forwarded Admin call: the id of the follower that forwarded it. */
export const FORWARDED_BY_METADATA = 'forelock-forwarded-by';

/** The longest a forwarded call may take when its caller set no deadline, in ms (every wait has a deadline). */
export const FORWARD_TIMEOUT_MS = 30_000;

/** The leader refused a forwarded call: its status (code, details, trailers) goes back to the caller unchanged. */
export class LeaderRefusal extends Error {
  constructor(readonly status: grpc.ServiceError) {
    super(status.details);
  }
}

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, reply: unknown) => void,
) => grpc.ClientUnaryCall;

/** Forwards Admin calls from this node to the leader it knows; one client, redialled when the leader moves. */
export class AdminForwarder {
  private client: { address: string; stub: grpc.Client } | null = null;
  private closed = false;

  constructor(
    private readonly raft: RaftNodeApi,
    /** How to dial the leader: this node's TLS identity when TLS is on (asked at each redial, so rotation applies). */
    private readonly credentials: () => grpc.ChannelCredentials = () => grpc.credentials.createInsecure(),
  ) {}

  /**
   * The leader's address when `call` should be forwarded there: this node does not lead, knows who does, and the
   * call was not forwarded already. Null: answer here (a leader answers; a follower refuses with NOT_LEADER).
   */
  targetOf(call: grpc.ServerUnaryCall<unknown, unknown>): string | null {
    if (this.closed || call.metadata.get(FORWARDED_BY_METADATA).length > 0) return null;
    const status = this.raft.status();
    if (status.role === 'leader' || status.leaderAddress === null || status.leaderId === status.id) return null;
    return status.leaderAddress;
  }

  /**
   * Sends `method(request)` to the leader at `address`, within the caller's deadline, with `token` (a token for the
   * same caller, minted by this node: the leader authenticates the caller, never this node) when auth is enabled.
   * Resolves with the leader's reply; rejects with a LeaderRefusal when the leader answered with an error, or with a
   * RaftNotLeaderError naming the leader when it could not be reached (the caller then retries there itself, as
   * without forwarding).
   */
  forward(
    address: string,
    method: string,
    call: grpc.ServerUnaryCall<unknown, unknown>,
    token: string | null = null,
  ): Promise<unknown> {
    const stub = this.stubFor(address);
    const { id, leaderId } = this.raft.status();
    const metadata = new grpc.Metadata();
    metadata.set(FORWARDED_BY_METADATA, id);
    if (token !== null) metadata.set(AUTHORIZATION_METADATA, `Bearer ${token}`);
    return new Promise((resolve, reject) => {
      const send = (stub as unknown as Record<string, UnaryMethod>)[method]!;
      const forwarded = send.call(stub, call.request, metadata, { deadline: deadlineOf(call) }, (error, reply) => {
        if (error === null) resolve(reply);
        else if (error.metadata?.get(ERROR_CODE_METADATA).length) reject(new LeaderRefusal(error));
        else reject(new RaftNotLeaderError(leaderId, address));
      });
      call.once('cancelled', () => forwarded.cancel());
    });
  }

  /** Closes the client to the leader; later calls are answered here. */
  close(): void {
    this.closed = true;
    this.client?.stub.close();
    this.client = null;
  }

  private stubFor(address: string): grpc.Client {
    if (this.client?.address !== address) {
      this.client?.stub.close();
      const { Admin } = forelockServices();
      this.client = { address, stub: new Admin(address, this.credentials()) };
    }
    return this.client.stub;
  }
}

/** The caller's deadline, or FORWARD_TIMEOUT_MS from now when it set none. */
function deadlineOf(call: grpc.ServerUnaryCall<unknown, unknown>): grpc.Deadline {
  const deadline = call.getDeadline();
  if (deadline instanceof Date || Number.isFinite(deadline)) return deadline;
  return Date.now() + FORWARD_TIMEOUT_MS;
}
