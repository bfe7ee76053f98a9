// The session stream's frames as the client sees them (the oneof's name in `frame`; the message shapes are in
// util/wire-frames), and the gRPC stubs for the Forelock and Admin services.
import * as grpc from '@grpc/grpc-js';
import { forelockServices } from '../util/proto.js';
import { withFastSessionCodec } from '../util/session-frame-codec.js';
import type {
  WireAcquireRequest,
  WireAcquireResult,
  WireCancelRequest,
  WireKeepalive,
  WireKeepaliveAnswer,
  WireLockMode,
  WireNotLeader,
  WireOpenSession,
  WirePreemptionRequest,
  WireReleaseRequest,
  WireRequestDone,
  WireRequestError,
  WireRevocationNotice,
  WireSessionAdvisory,
  WireSessionEnded,
  WireSessionOpened,
  WireStalenessWarning,
  WireWarningAnswer,
} from '../util/wire-frames.js';

/** A frame the client sends (exactly one member set). */
export type ClientFrame =
  | { open: WireOpenSession }
  | { keepalive: WireKeepalive }
  | { acquire: WireAcquireRequest }
  | { release: WireReleaseRequest }
  | { cancel: WireCancelRequest }
  | { warningAnswer: WireWarningAnswer }
  | { close: Record<string, never> };

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
  | { frame: 'advisory'; advisory: WireSessionAdvisory }
  | { frame: 'notLeader'; notLeader: WireNotLeader }
  | { frame: 'ended'; ended: WireSessionEnded }
);

/**
 * The client side of one session stream: a Forelock.Session call of its own, or one channel of the process's Sessions
 * stream to that endpoint (session-mux.ts), which behaves the same: 'data' frames, then 'end' (OK) or 'error' (a
 * ServiceError), then 'close'.
 */
export interface SessionStream {
  /** Sends `frame`; false asks the writer to wait for 'drain' (a channel of a Sessions stream at its queue's mark). */
  write(frame: ClientFrame): unknown;
  /** Half-closes: the client writes nothing more. */
  end(): unknown;
  /** Abandons the stream: nothing more is written or heard. */
  cancel(): void;
  on(event: 'data', listener: (frame: ServerFrame) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'end' | 'close' | 'drain', listener: () => void): this;
  once(event: 'end' | 'error' | 'close', listener: () => void): this;
  removeAllListeners(event?: 'data' | 'error' | 'end' | 'close'): this;
}

/** The Forelock service stub (one per endpoint). */
export interface ForelockStub extends grpc.Client {
  Session(options?: grpc.CallOptions): grpc.ClientDuplexStream<ClientFrame, ServerFrame>;
  /** Batches as bytes: the mux codes them (util/session-mux-codec.ts). */
  Sessions(options?: grpc.CallOptions): grpc.ClientDuplexStream<Buffer, Buffer>;
}

/** How a session stream's frames are coded: the Session method's codec (fast path, loader fallback). */
export interface SessionFrameCodec {
  encodeClientFrame(frame: ClientFrame): Buffer;
  decodeServerFrame(bytes: Buffer): ServerFrame;
}

let sessionCodec: SessionFrameCodec | null = null;

/** The Session method's frame codec, for the frames a Sessions channel carries (session-mux.ts). */
export function sessionChannelCodec(): SessionFrameCodec {
  if (sessionCodec === null) {
    const session = withFastSessionCodec(forelockServices().Forelock.service).Session as grpc.MethodDefinition<
      ClientFrame,
      ServerFrame
    >;
    sessionCodec = { encodeClientFrame: session.requestSerialize, decodeServerFrame: session.responseDeserialize };
  }
  return sessionCodec;
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
  /** The leader's view, meaningful only in the leader's answer. */
  reachable: boolean;
  matchIndex: string;
  lagEntries: string;
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
  ListLocks: [{ prefix: string; limit: number; after: string }, { locks: WireLockInfo[]; nextAfter: string }];
  Revoke: [{ name: string; session: string; force: boolean; reason: string }, { revoked: WireRevokedHolder[] }];
  AddMember: [{ id: string; address: string; learner: boolean }, WireStatusReply];
  PromoteMember: [{ id: string }, WireStatusReply];
  RemoveMember: [{ id: string; force: boolean }, WireStatusReply];
  TransferLeadership: [{ id: string }, WireStatusReply];
}

/** The Admin service stub (one per endpoint). */
export type AdminStub = grpc.Client & {
  [K in keyof AdminMethods]: UnaryMethod<AdminMethods[K][0], AdminMethods[K][1]>;
} & {
  /** Server streaming: the snapshot file's bytes in chunks. */
  Snapshot(
    request: Record<string, never>,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
  ): grpc.ClientReadableStream<{ chunk: Buffer }>;
};

let fastForelockClient: grpc.ServiceClientConstructor | null = null;

/**
 * What a client accepts in one message from a node, instead of gRPC's 4 MB default. Some answers must be one message
 * and grow with what one session or one lock holds: the SessionOpened of a resume lists every lock the session holds
 * (about 60 bytes each: 4 MB is some 70,000 locks), a Sessions batch carries the frames of one turn for all of the
 * process's sessions, and a ListLocks page never splits one lock's holders (a shared lock may have thousands, each
 * with up to 1 KiB of metadata). Listings themselves are paged (ListLocksRequest.limit), so this bounds only what
 * cannot be.
 */
const LARGE_ANSWERS: grpc.ChannelOptions = { 'grpc.max_receive_message_length': 256 * 1024 * 1024 };

/**
 * A Forelock service stub for `address`, over an insecure channel (the first milestone has no TLS). Its session
 * stream encodes and decodes the hot frames with the fast codec (util/session-frame-codec.ts); the bytes are the same proto.
 */
export function forelockStub(address: string, credentials: grpc.ChannelCredentials): ForelockStub {
  if (fastForelockClient === null) {
    const { Forelock } = forelockServices();
    fastForelockClient = grpc.makeGenericClientConstructor(withFastSessionCodec(Forelock.service), 'Forelock');
  }
  return new fastForelockClient(address, credentials, LARGE_ANSWERS) as unknown as ForelockStub;
}

/** An Admin service stub for `address`. */
export function adminStub(address: string, credentials: grpc.ChannelCredentials): AdminStub {
  const { Admin } = forelockServices();
  return new Admin(address, credentials, LARGE_ANSWERS) as unknown as AdminStub;
}

/** SDK lock mode from the wire's. */
export function modeFromWire(mode: WireLockMode): 'exclusive' | 'shared' {
  return mode === 'SHARED' ? 'shared' : 'exclusive';
}

/** The wire's lock mode from the SDK's. */
export function modeToWire(mode: 'exclusive' | 'shared'): WireLockMode {
  return mode === 'shared' ? 'SHARED' : 'EXCLUSIVE';
}
