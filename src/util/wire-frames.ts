// The TypeScript shapes of proto/forelock/v1/forelock.proto's session-stream messages as @grpc/proto-loader hands them
// over (camelCase fields, uint64 as decimal strings, enums as names, defaults filled in), shared by the client and the
// server. Every message shape is generated from the .proto (src/generated/, scripts/gen-wire-types.ts); this file only
// names them, narrows the few strings whose values the protocol fixes (docs/protocol.md), and builds the frames' oneofs.
import type { AcquireRequest__Output } from '../generated/forelock/v1/AcquireRequest.js';
import type { AcquireResult__Output } from '../generated/forelock/v1/AcquireResult.js';
import type { CancelRequest__Output } from '../generated/forelock/v1/CancelRequest.js';
import type { ClientFrame__Output } from '../generated/forelock/v1/ClientFrame.js';
import type { HeldLock__Output } from '../generated/forelock/v1/HeldLock.js';
import type { Keepalive__Output } from '../generated/forelock/v1/Keepalive.js';
import type { KeepaliveAnswer__Output } from '../generated/forelock/v1/KeepaliveAnswer.js';
import type { LockMode__Output } from '../generated/forelock/v1/LockMode.js';
import type { NotLeader__Output } from '../generated/forelock/v1/NotLeader.js';
import type { OpenSession__Output } from '../generated/forelock/v1/OpenSession.js';
import type { PreemptionRequest__Output } from '../generated/forelock/v1/PreemptionRequest.js';
import type { ReleaseRequest__Output } from '../generated/forelock/v1/ReleaseRequest.js';
import type { RequestDone__Output } from '../generated/forelock/v1/RequestDone.js';
import type { RequestError__Output } from '../generated/forelock/v1/RequestError.js';
import type { RevocationNotice__Output } from '../generated/forelock/v1/RevocationNotice.js';
import type { ServerFrame__Output } from '../generated/forelock/v1/ServerFrame.js';
import type { SessionAdvisory__Output } from '../generated/forelock/v1/SessionAdvisory.js';
import type { SessionEnded__Output } from '../generated/forelock/v1/SessionEnded.js';
import type { SessionOpened__Output } from '../generated/forelock/v1/SessionOpened.js';
import type { StalenessWarning__Output } from '../generated/forelock/v1/StalenessWarning.js';
import type { WarningAnswer__Output } from '../generated/forelock/v1/WarningAnswer.js';

/** `Message` with some of its fields' types narrowed to the values the protocol gives them. */
type Narrowed<Message, Fields extends Partial<Record<keyof Message, unknown>>> = Omit<Message, keyof Fields> & Fields;

/** proto LockMode as loaded. */
export type WireLockMode = LockMode__Output;

/** proto WarningAnswer.Kind as loaded: how a client answered a warning. */
export type WireWarningKind = WarningAnswer__Output['kind'];

/** proto OpenSession. */
export type WireOpenSession = OpenSession__Output;
/** proto Keepalive. */
export type WireKeepalive = Keepalive__Output;
/** proto AcquireRequest (`preemptible` is deprecated and ignored by the server; see `neverPreempt`). */
export type WireAcquireRequest = AcquireRequest__Output;
/** proto ReleaseRequest. */
export type WireReleaseRequest = ReleaseRequest__Output;
/** proto CancelRequest. */
export type WireCancelRequest = CancelRequest__Output;
/** proto WarningAnswer. */
export type WireWarningAnswer = WarningAnswer__Output;
/** proto HeldLock. */
export type WireHeldLock = HeldLock__Output;
/** proto SessionOpened. */
export type WireSessionOpened = SessionOpened__Output;
/** proto KeepaliveAnswer. */
export type WireKeepaliveAnswer = KeepaliveAnswer__Output;
/** proto AcquireResult. */
export type WireAcquireResult = AcquireResult__Output;
/** proto RequestDone. */
export type WireRequestDone = RequestDone__Output;
/** proto RequestError. */
export type WireRequestError = RequestError__Output;
/** proto StalenessWarning (its `warningType` is always 'Staleness Warning'). */
export type WireStalenessWarning = Narrowed<StalenessWarning__Output, { warningType: 'Staleness Warning' }>;

/**
 * proto SessionAdvisory's condition: `'clock-drift'` (the client's clock runs outside the SDK's drift bound even at
 * the guarantee floor) or `'link-degrading'` (keepalive round trips growing toward a missed renewal).
 */
export type WireSessionCondition = 'clock-drift' | 'link-degrading';

/**
 * proto SessionAdvisory: one condition of the whole session, sent once when its episode begins (`active` true) and
 * once when it ends (`active` false, same `advisoryId`); never once per held lock. It changes no promise.
 */
export type WireSessionAdvisory = Narrowed<SessionAdvisory__Output, { condition: WireSessionCondition }>;
/** proto PreemptionRequest. */
export type WirePreemptionRequest = PreemptionRequest__Output;
/** proto RevocationNotice. */
export type WireRevocationNotice = RevocationNotice__Output;
/** proto NotLeader. */
export type WireNotLeader = NotLeader__Output;
/** proto SessionEnded. */
export type WireSessionEnded = Narrowed<SessionEnded__Output, { reason: 'expired' | 'closed' | 'not-found' }>;

/** The members of ClientFrame's oneof `frame`, by name. */
export type ClientFrameMembers = {
  readonly [Member in NonNullable<ClientFrame__Output['frame']>]-?: NonNullable<ClientFrame__Output[Member]>;
};

/** The members of ServerFrame's oneof `frame`, by name, with the narrowed shapes above. */
export type ServerFrameMembers = Omit<
  { readonly [Member in NonNullable<ServerFrame__Output['frame']>]-?: NonNullable<ServerFrame__Output[Member]> },
  'warning' | 'advisory' | 'ended'
> & {
  readonly warning: WireStalenessWarning;
  readonly advisory: WireSessionAdvisory;
  readonly ended: WireSessionEnded;
};

/**
 * One member of a oneof set: that member, the others absent, and the loader's virtual field `frame` naming it
 * (optional: a sender may leave it out; the loader and the fast codec fill it in on receipt).
 */
type OneMemberOf<Members> = {
  [Member in keyof Members]: { readonly [Set in Member]: Members[Member] } & {
    readonly [Other in Exclude<keyof Members, Member>]?: undefined;
  } & { readonly frame?: Member };
}[keyof Members];

/** A frame the client sends: exactly one member of ClientFrame's oneof `frame` set (the server reads `frame`). */
export type ClientFrame = OneMemberOf<ClientFrameMembers>;

/** The payload of a server frame: exactly one member of its oneof (the envelope adds seq and time). */
export type ServerFramePayload = {
  [Member in keyof ServerFrameMembers]: { readonly [Set in Member]: ServerFrameMembers[Member] };
}[keyof ServerFrameMembers];

/** ServerFrame's fields outside its oneof. */
export type ServerFrameEnvelope = Omit<ServerFrame__Output, keyof ServerFrameMembers | 'frame'>;

/** A frame the server sends, as received: its envelope and exactly one member, named by `frame`. */
export type ServerFrame = ServerFrameEnvelope &
  {
    [Member in keyof ServerFrameMembers]: { readonly frame: Member } & {
      readonly [Set in Member]: ServerFrameMembers[Member];
    };
  }[keyof ServerFrameMembers];
