// Forelock's client SDK: the package's main export.

export type { Permission } from './auth/names.js';
export {
  AdminClient,
  type AdminOptions,
  type ClusterStatus,
  type LockHolderInfo,
  type LockInfo,
  type MemberInfo,
  type RevokedHolderInfo,
} from './client/admin.js';
export type {
  AuthAdmin,
  AuthStatus,
  NewUserCredentials,
  RoleAdmin,
  RoleGrant,
  RoleInfo,
  UserAdmin,
  UserInfo,
} from './client/admin-auth.js';
export type { AdvisoryHandler, SessionAdvisory, SessionCondition } from './client/advisory.js';
export type { AuthOptions, LoginResult } from './client/auth-token.js';
export type { BackoffOptions } from './client/backoff.js';
export { type AcquireOptions, Client, ClientSession, type ConnectOptions, connect } from './client/client.js';
export type { GuaranteeAnswer } from './client/connection.js';
export { Election } from './client/election.js';
export {
  AbortError,
  AlreadyExistsError,
  AlreadyHeldError,
  AlreadyWaitingError,
  AuthNotEnabledError,
  ClientClosedError,
  DeadlockError,
  InvalidArgumentError,
  LockBusyError,
  type LockLossCause,
  LockLostError,
  LockNotFoundError,
  LockReleasedError,
  MemberNotFoundError,
  MembershipChangeRefusedError,
  NoRootUserError,
  NotHeldError,
  NotLeaderError,
  PermissionDeniedError,
  RoleNotFoundError,
  ServerError,
  type SessionEndReason,
  SessionExpiredError,
  StaleTokenError,
  TimeoutError,
  TooManySessionsError,
  TooManyWaitersError,
  UnauthenticatedError,
  UnavailableError,
  UserNotFoundError,
} from './client/errors.js';
export {
  Lock,
  type LockEvent,
  type PreemptionHandler,
  type PreemptionNotice,
  type StalenessWarning,
  type WarningAnswer,
  type WarningHandler,
  type WarningResponse,
} from './client/lock.js';
export type { LockMode } from './lock/commands.js';
export type { TlsOptions } from './security/client-tls.js';
export { type ErrorCode, ForelockError } from './util/errors.js';
