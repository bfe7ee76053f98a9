// The TypeScript shapes of proto/forelock/v1/forelock.proto's session-stream messages as @grpc/proto-loader hands them over
// (camelCase fields, uint64 as decimal strings, enums as names), shared by the client and the server.

/** proto LockMode as loaded. */
export type WireLockMode = 'EXCLUSIVE' | 'SHARED';

/** proto WarningAnswer.Kind as loaded: how a client answered a warning. */
export type WireWarningKind = 'ACK' | 'CHECKPOINTING' | 'RELEASING';

/** proto OpenSession. */
export interface WireOpenSession {
  readonly clientName: string;
  readonly ttlMs: number;
  readonly sessionId: string;
  readonly secret: string;
}

/** proto Keepalive. */
export interface WireKeepalive {
  readonly seq: string;
  readonly clientTimeMs: number;
  readonly rttMs: number;
}

/** proto AcquireRequest. */
export interface WireAcquireRequest {
  readonly requestSeq: string;
  readonly name: string;
  readonly mode: WireLockMode;
  readonly fenced: boolean;
  /** Deprecated and ignored by the server (its unset value meant "never pre-empt"); see `neverPreempt`. */
  readonly preemptible: boolean;
  readonly waitMs: number;
  readonly metadata: string;
  /** True: never pre-empted (it may still be warned); false or unset: the grant may be pre-empted. */
  readonly neverPreempt: boolean;
}

/** proto ReleaseRequest. */
export interface WireReleaseRequest {
  readonly requestSeq: string;
  readonly name: string;
  readonly token: string;
}

/** proto CancelRequest. */
export interface WireCancelRequest {
  readonly requestSeq: string;
  readonly name: string;
}

/** proto WarningAnswer. */
export interface WireWarningAnswer {
  readonly warningId: string;
  readonly name: string;
  readonly kind: WireWarningKind;
  readonly checkpointMs: number;
}

/** proto HeldLock. */
export interface WireHeldLock {
  readonly name: string;
  readonly mode: WireLockMode;
  readonly token: string;
  readonly fenced: boolean;
}

/** proto SessionOpened. */
export interface WireSessionOpened {
  readonly sessionId: string;
  readonly secret: string;
  readonly ttlMs: number;
  readonly guaranteeMs: number;
  readonly keepaliveIntervalMs: number;
  readonly leaderId: string;
  readonly held: WireHeldLock[];
}

/** proto KeepaliveAnswer. */
export interface WireKeepaliveAnswer {
  readonly seq: string;
  readonly serverReceiveMs: number;
  readonly guaranteeMs: number;
  readonly keepaliveIntervalMs: number;
}

/** proto AcquireResult. */
export interface WireAcquireResult {
  readonly requestSeq: string;
  readonly name: string;
  readonly status: 'GRANTED' | 'QUEUED';
  readonly token: string;
  readonly grantedAtMs: number;
  readonly position: number;
  readonly fenced: boolean;
  readonly mode: WireLockMode;
}

/** proto RequestDone. */
export interface WireRequestDone {
  readonly requestSeq: string;
  readonly name: string;
}

/** proto RequestError. */
export interface WireRequestError {
  readonly requestSeq: string;
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
}

/** proto StalenessWarning. */
export interface WireStalenessWarning {
  readonly warningType: 'Staleness Warning';
  readonly resourceId: string;
  readonly warningId: string;
  readonly token: string;
  readonly predictedStalenessMs: number;
  readonly predictedStaleAtMs: number;
  readonly preemptionScore: number;
  readonly probability: number;
  readonly reasons: string[];
  readonly ackTimeoutMs: number;
  readonly guaranteeMs: number;
}

/**
 * proto SessionAdvisory's condition: `'clock-drift'` (the client's clock runs outside the SDK's drift bound even at
 * the guarantee floor) or `'link-degrading'` (keepalive round trips growing toward a missed renewal).
 */
export type WireSessionCondition = 'clock-drift' | 'link-degrading';

/**
 * proto SessionAdvisory: one condition of the whole session, sent once when its episode begins (`active` true) and
 * once when it ends (`active` false, same `advisoryId`); never once per held lock. It changes no promise.
 */
export interface WireSessionAdvisory {
  /** Names the episode: its begin and end carry the same id. */
  readonly advisoryId: string;
  readonly condition: WireSessionCondition;
  /** True when the episode begins, false when it ends. */
  readonly active: boolean;
  /** A human sentence describing the condition. */
  readonly detail: string;
  /** The guarantee now in force for the session (ms; uint32). */
  readonly guaranteeMs: number;
  /** The client clock's measured rate error: -0.03 is 3% slow, 0.02 is 2% fast; 0 when not measured. */
  readonly clockRateError: number;
  /** The condition's probability, 0-1. */
  readonly probability: number;
}

/** proto PreemptionRequest. */
export interface WirePreemptionRequest {
  readonly resourceId: string;
  readonly token: string;
  readonly graceMs: number;
  readonly revokeAtMs: number;
  readonly reason: string;
  readonly warningId: string;
}

/** proto RevocationNotice. */
export interface WireRevocationNotice {
  readonly resourceId: string;
  readonly token: string;
  readonly cause: string;
  readonly reason: string;
  readonly revokedAtMs: number;
}

/** proto NotLeader. */
export interface WireNotLeader {
  readonly leaderId: string;
  readonly leaderAddress: string;
}

/** proto SessionEnded. */
export interface WireSessionEnded {
  readonly reason: 'expired' | 'closed' | 'not-found';
}
