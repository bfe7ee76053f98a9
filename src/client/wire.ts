// The gRPC stubs for the Forelock and Admin services as the client uses them; the session stream's frames
// (ClientFrame, ServerFrame) are util/wire-frames.ts's, generated from the .proto.
import * as grpc from '@grpc/grpc-js';
import type { AddMemberRequest } from '../generated/forelock/v1/AddMemberRequest.js';
import type { AuthChangeReply__Output } from '../generated/forelock/v1/AuthChangeReply.js';
import type { AuthStatusReply__Output } from '../generated/forelock/v1/AuthStatusReply.js';
import type { AuthStatusRequest } from '../generated/forelock/v1/AuthStatusRequest.js';
import type { ListLocksReply__Output } from '../generated/forelock/v1/ListLocksReply.js';
import type { ListLocksRequest } from '../generated/forelock/v1/ListLocksRequest.js';
import type { LockHolder__Output } from '../generated/forelock/v1/LockHolder.js';
import type { LockInfo__Output } from '../generated/forelock/v1/LockInfo.js';
import type { LoginReply__Output } from '../generated/forelock/v1/LoginReply.js';
import type { LoginRequest } from '../generated/forelock/v1/LoginRequest.js';
import type { Member__Output } from '../generated/forelock/v1/Member.js';
import type { MemberRequest } from '../generated/forelock/v1/MemberRequest.js';
import type { RevokedHolder__Output } from '../generated/forelock/v1/RevokedHolder.js';
import type { RevokeReply__Output } from '../generated/forelock/v1/RevokeReply.js';
import type { RevokeRequest } from '../generated/forelock/v1/RevokeRequest.js';
import type { RoleListReply__Output } from '../generated/forelock/v1/RoleListReply.js';
import type { RoleListRequest } from '../generated/forelock/v1/RoleListRequest.js';
import type { RolePermissionRequest } from '../generated/forelock/v1/RolePermissionRequest.js';
import type { RoleRequest } from '../generated/forelock/v1/RoleRequest.js';
import type { StatusReply__Output } from '../generated/forelock/v1/StatusReply.js';
import type { StatusRequest } from '../generated/forelock/v1/StatusRequest.js';
import type { UserListReply__Output } from '../generated/forelock/v1/UserListReply.js';
import type { UserListRequest } from '../generated/forelock/v1/UserListRequest.js';
import type { UserPasswordRequest } from '../generated/forelock/v1/UserPasswordRequest.js';
import type { UserRequest } from '../generated/forelock/v1/UserRequest.js';
import type { UserRoleRequest } from '../generated/forelock/v1/UserRoleRequest.js';
import { forelockServices } from '../util/proto.js';
import { withFastSessionCodec } from '../util/session-frame-codec.js';
import type { ClientFrame, ServerFrame, WireLockMode } from '../util/wire-frames.js';

export type { ClientFrame, ServerFrame } from '../util/wire-frames.js';

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
  Session(metadata?: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<ClientFrame, ServerFrame>;
  /** Batches as bytes: the mux codes them (util/session-mux-codec.ts). */
  Sessions(metadata?: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<Buffer, Buffer>;
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

/** proto Member. Its replication view (reachable, matchIndex, lagEntries) is meaningful only in the leader's answer. */
export type WireMember = Member__Output;
/** proto StatusReply. */
export type WireStatusReply = StatusReply__Output;
/** proto LockHolder. */
export type WireLockHolder = LockHolder__Output;
/** proto LockInfo. */
export type WireLockInfo = LockInfo__Output;
/** proto RevokedHolder. */
export type WireRevokedHolder = RevokedHolder__Output;

/** The Admin service's unary methods as [request, reply], generated from the .proto. */
export interface AdminMethods {
  Status: [StatusRequest, WireStatusReply];
  ListLocks: [ListLocksRequest, ListLocksReply__Output];
  Revoke: [RevokeRequest, RevokeReply__Output];
  AddMember: [AddMemberRequest, WireStatusReply];
  PromoteMember: [MemberRequest, WireStatusReply];
  RemoveMember: [MemberRequest, WireStatusReply];
  TransferLeadership: [MemberRequest, WireStatusReply];
  Login: [LoginRequest, LoginReply__Output];
  AuthStatus: [AuthStatusRequest, AuthStatusReply__Output];
  AuthEnable: [AuthStatusRequest, AuthStatusReply__Output];
  AuthDisable: [AuthStatusRequest, AuthStatusReply__Output];
  UserAdd: [UserPasswordRequest, AuthChangeReply__Output];
  UserChangePassword: [UserPasswordRequest, AuthChangeReply__Output];
  UserRemove: [UserRequest, AuthChangeReply__Output];
  UserGrantRole: [UserRoleRequest, AuthChangeReply__Output];
  UserRevokeRole: [UserRoleRequest, AuthChangeReply__Output];
  UserList: [UserListRequest, UserListReply__Output];
  RoleAdd: [RoleRequest, AuthChangeReply__Output];
  RoleRemove: [RoleRequest, AuthChangeReply__Output];
  RoleGrantPermission: [RolePermissionRequest, AuthChangeReply__Output];
  RoleRevokePermission: [RolePermissionRequest, AuthChangeReply__Output];
  RoleList: [RoleListRequest, RoleListReply__Output];
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
 * How soon a channel dials a node again after a failed connection, instead of gRPC's default backoff (1 s growing
 * 1.6x per failure up to 120 s). A channel in that backoff refuses every dial of the SDK until it ends, so a node
 * restarting for 5-10 s was found again up to 6 s after it came back (attempts near 1, 2.6, 5.2, 9.3 and 15.9 s):
 * long enough for its sessions' promises to pass (issue 13). One attempt at least every second costs one TCP connect
 * per node and process (the channel is shared by all the process's sessions); the SDK's own Backoff paces the
 * sessions' retries.
 */
const PROMPT_RECONNECT: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
};

/** The options of every channel the SDK opens to a node. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = { ...LARGE_ANSWERS, ...PROMPT_RECONNECT };

/**
 * A Forelock service stub for `address`, over an insecure channel (the first milestone has no TLS). Its session
 * stream encodes and decodes the hot frames with the fast codec (util/session-frame-codec.ts); the bytes are the same proto.
 */
export function forelockStub(address: string, credentials: grpc.ChannelCredentials): ForelockStub {
  if (fastForelockClient === null) {
    const { Forelock } = forelockServices();
    fastForelockClient = grpc.makeGenericClientConstructor(withFastSessionCodec(Forelock.service), 'Forelock');
  }
  return new fastForelockClient(address, credentials, CHANNEL_OPTIONS) as unknown as ForelockStub;
}

/** An Admin service stub for `address`. */
export function adminStub(address: string, credentials: grpc.ChannelCredentials): AdminStub {
  const { Admin } = forelockServices();
  return new Admin(address, credentials, CHANNEL_OPTIONS) as unknown as AdminStub;
}

/** SDK lock mode from the wire's. */
export function modeFromWire(mode: WireLockMode): 'exclusive' | 'shared' {
  return mode === 'SHARED' ? 'shared' : 'exclusive';
}

/** The wire's lock mode from the SDK's. */
export function modeToWire(mode: 'exclusive' | 'shared'): WireLockMode {
  return mode === 'shared' ? 'SHARED' : 'EXCLUSIVE';
}
