// The session stream's frames as @grpc/proto-loader hands them to us (camelCase fields, uint64 as decimal strings,
// enums as names, the oneof's name in `frame`), and the gRPC stubs for the Forelock and Admin services.
import type * as grpc from '@grpc/grpc-js';
import { forelockServices } from '../util/proto.js';

/** proto LockMode as loaded. */
export type WireLockMode = 'EXCLUSIVE' | 'SHARED';

/** A frame the client sends (exactly one member set). */
export type ClientFrame =
  | { open: { clientName: string; ttlMs: number; sessionId: string; secret: string } }
  | { keepalive: { seq: string; clientTimeMs: number; rttMs: number } }
  | {
      acquire: {
        requestSeq: string;
        name: string;
        mode: WireLockMode;
        fenced: boolean;
        preemptible: boolean;
        waitMs: number;
        metadata: string;
      };
    }
  | { release: { requestSeq: string; name: string; token: string } }
  | { cancel: { requestSeq: string; name: string } }
  | { warningAnswer: { warningId: string; name: string; kind: WarningAnswerKind; checkpointMs: number } }
  | { close: Record<string, never> };

/** proto WarningAnswer.Kind as loaded. */
export type WarningAnswerKind = 'ACK' | 'CHECKPOINTING' | 'RELEASING';

/** proto HeldLock. */
export interface WireHeldLock {
  name: string;
  mode: WireLockMode;
  token: string;
  fenced: boolean;
}

/** proto SessionOpened. */
export interface WireSessionOpened {
  sessionId: string;
  secret: string;
  ttlMs: number;
  guaranteeMs: number;
  keepaliveIntervalMs: number;
  leaderId: string;
  held: WireHeldLock[];
}

/** proto KeepaliveAnswer. */
export interface WireKeepaliveAnswer {
  seq: string;
  serverReceiveMs: number;
  guaranteeMs: number;
  keepaliveIntervalMs: number;
}

/** proto AcquireResult. */
export interface WireAcquireResult {
  requestSeq: string;
  name: string;
  status: 'GRANTED' | 'QUEUED';
  token: string;
  grantedAtMs: number;
  position: number;
  fenced: boolean;
  mode: WireLockMode;
}

/** proto RequestDone. */
export interface WireRequestDone {
  requestSeq: string;
  name: string;
}

/** proto RequestError. */
export interface WireRequestError {
  requestSeq: string;
  name: string;
  code: string;
  message: string;
  retriable: boolean;
}

/** proto StalenessWarning. */
export interface WireStalenessWarning {
  warningType: string;
  resourceId: string;
  warningId: string;
  token: string;
  predictedStalenessMs: number;
  predictedStaleAtMs: number;
  preemptionScore: number;
  probability: number;
  reasons: string[];
  ackTimeoutMs: number;
  guaranteeMs: number;
}

/** proto PreemptionRequest. */
export interface WirePreemptionRequest {
  resourceId: string;
  token: string;
  graceMs: number;
  revokeAtMs: number;
  reason: string;
  warningId: string;
}

/** proto RevocationNotice. */
export interface WireRevocationNotice {
  resourceId: string;
  token: string;
  cause: string;
  reason: string;
  revokedAtMs: number;
}

/** A frame the server sends: common fields plus exactly one member named by `frame`. */
export type ServerFrame = { lastKeepaliveSeq: string; serverTimeMs: number } & (
  | { frame: 'opened'; opened: WireSessionOpened }
  | { frame: 'keepalive'; keepalive: WireKeepaliveAnswer }
  | { frame: 'acquire'; acquire: WireAcquireResult }
  | { frame: 'done'; done: WireRequestDone }
  | { frame: 'error'; error: WireRequestError }
  | { frame: 'warning'; warning: WireStalenessWarning }
  | { frame: 'preemption'; preemption: WirePreemptionRequest }
  | { frame: 'revoked'; revoked: WireRevocationNotice }
  | { frame: 'notLeader'; notLeader: { leaderId: string; leaderAddress: string } }
  | { frame: 'ended'; ended: { reason: string } }
);

/** The client side of one session stream. */
export type SessionStream = grpc.ClientDuplexStream<ClientFrame, ServerFrame>;

/** The Forelock service stub (one per endpoint). */
export interface ForelockStub extends grpc.Client {
  Session(options?: grpc.CallOptions): SessionStream;
}

/** A unary admin method of the stub. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

/** proto Member. */
export interface WireMember {
  id: string;
  address: string;
  role: string;
}

/** proto StatusReply. */
export interface WireStatusReply {
  id: string;
  leader: string;
  leaderAddress: string;
  term: string;
  commitIndex: string;
  appliedIndex: string;
  members: WireMember[];
  sessions: number;
  locks: number;
}

/** proto LockHolder. */
export interface WireLockHolder {
  session: string;
  client: string;
  token: string;
  fenced: boolean;
  grantedAtMs: number;
  mode: WireLockMode;
  preemptible: boolean;
  metadata: string;
}

/** proto LockInfo. */
export interface WireLockInfo {
  name: string;
  mode: WireLockMode;
  holders: WireLockHolder[];
  waiters: number;
}

/** proto RevokedHolder. */
export interface WireRevokedHolder {
  session: string;
  token: string;
  revokeAtMs: number;
  immediate: boolean;
}

/** The Admin service's methods as [request, reply]. */
export interface AdminMethods {
  Status: [Record<string, never>, WireStatusReply];
  ListLocks: [{ prefix: string }, { locks: WireLockInfo[] }];
  Revoke: [{ name: string; session: string; force: boolean; reason: string }, { revoked: WireRevokedHolder[] }];
  AddMember: [{ id: string; address: string; learner: boolean }, WireStatusReply];
  PromoteMember: [{ id: string }, WireStatusReply];
  RemoveMember: [{ id: string }, WireStatusReply];
  TransferLeadership: [{ id: string }, WireStatusReply];
}

/** The Admin service stub (one per endpoint). */
export type AdminStub = grpc.Client & {
  [K in keyof AdminMethods]: UnaryMethod<AdminMethods[K][0], AdminMethods[K][1]>;
};

/** A Forelock service stub for `address`, over an insecure channel (the first milestone has no TLS). */
export function forelockStub(address: string, credentials: grpc.ChannelCredentials): ForelockStub {
  const { Forelock } = forelockServices();
  return new Forelock(address, credentials) as unknown as ForelockStub;
}

/** An Admin service stub for `address`. */
export function adminStub(address: string, credentials: grpc.ChannelCredentials): AdminStub {
  const { Admin } = forelockServices();
  return new Admin(address, credentials) as unknown as AdminStub;
}

/** SDK lock mode from the wire's. */
export function modeFromWire(mode: WireLockMode): 'exclusive' | 'shared' {
  return mode === 'SHARED' ? 'shared' : 'exclusive';
}

/** The wire's lock mode from the SDK's. */
export function modeToWire(mode: 'exclusive' | 'shared'): WireLockMode {
  return mode === 'shared' ? 'SHARED' : 'EXCLUSIVE';
}
