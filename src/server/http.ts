// The node's HTTP endpoint: /livez, /readyz, /healthz, /metrics (Prometheus), /v1/status, /v1/locks, and the
// test-only fault hook. With auth enabled, /v1/* needs a caller the Authenticator accepts (an `Authorization: Bearer`
// token, or a verified client certificate naming a user) and /v1/locks answers only what it may `read`; the probes stay
// open, and /metrics too unless `metricsAuth` asks for a root caller (docs/design.md, "Security").
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { LockPage } from '../lock/state-machine.js';
import type { RaftStatus } from '../raft/node-api.js';
import type { PeerFault } from '../raft/transport.js';
import type { ServerTls } from '../security/server-tls.js';
import type { Authenticator, Caller, PresentedCredentials } from './authenticator.js';
import type { ClientLinkFault } from './client-link-faults.js';
import type { HostPort } from './config.js';
import { PermissionDeniedError, UnauthenticatedError } from './errors.js';
import { checkLoopStallFault, type LoopStallFault, MAX_STALL_MS } from './loop-stall.js';
import type { ServerMetrics } from './metrics.js';
import { locksJson, statusJson } from './wire.js';

/** What the HTTP endpoint reads and, in tests, changes. */
export interface HttpDeps {
  status(): RaftStatus;
  /** One page of the locks, as LockStateMachine.lockPage gives it. */
  lockPage(prefix: string, after: string, limit: number): LockPage;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  /** Who is calling and what it may do: the node's own, so HTTP and gRPC follow the same rules. */
  readonly authenticator: Authenticator;
  /** True: with auth enabled, /metrics needs a root caller (`forelock serve --metrics-auth`). */
  readonly metricsAuth: boolean;
  /** Present only with --test-fault-injection: applies a fault to the link to one peer (null clears it). */
  readonly setFault?: (peer: string, fault: PeerFault | null) => void;
  /** Present only with --test-fault-injection: delays the frames of one client, by its name (null clears it). */
  readonly setClientFault?: (client: string, fault: ClientLinkFault | null) => void;
  /** Test-only: stalls this node's event loop on a schedule (null stops). */
  readonly setLoopStall?: (fault: LoopStallFault | null) => void;
  /**
   * Serve HTTPS with this material (re-read on SIGHUP). A client certificate is asked for but not required, so
   * probes reach /livez, /readyz and /healthz without one.
   */
  readonly tls?: ServerTls;
}

/** The largest request body the fault hook reads. */
const MAX_BODY_BYTES = 16 * 1024;

function sendJson(
  response: ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  response.writeHead(statusCode, { 'content-type': 'application/json', ...headers });
  response.end(`${JSON.stringify(body)}\n`);
}

/** Locks per page of a streamed /v1/locks. */
const HTTP_LOCK_PAGE = 1_000;
/** The largest page `?limit=` asks for. */
const MAX_HTTP_LOCK_PAGE = 100_000;

/** What a 401 adds to the Authenticator's reason: how an HTTP caller presents credentials. */
const HTTP_CREDENTIALS_HINT =
  'send "Authorization: Bearer TOKEN" (forelock login prints a token), or over HTTPS a client certificate whose CN names a user';

/** The credentials of an HTTP request: its Authorization header and, over HTTPS, its verified client certificate. */
function credentialsOfRequest(request: IncomingMessage): PresentedCredentials {
  const socket = request.socket as Partial<TLSSocket>;
  // Asked for but not required (the probes): a certificate the handshake did not verify stands for nobody.
  const verified = socket.authorized === true ? (socket as TLSSocket).getPeerCertificate() : undefined;
  return {
    authorization: request.headers.authorization ?? null,
    verifiedCertificate: verified,
    peer: `${request.socket.remoteAddress}:${request.socket.remotePort}`,
  };
}

/**
 * The caller of `request` once `check` (if any) passes; null after answering 401 (no or bad credentials while auth is
 * enabled) or 403 (denied). The Authenticator audits and counts every refusal.
 */
function admittedCaller(
  deps: HttpDeps,
  request: IncomingMessage,
  response: ServerResponse,
  action: string,
  check?: (caller: Caller) => void,
): Caller | null {
  try {
    const caller = deps.authenticator.callerPresenting(credentialsOfRequest(request), action);
    check?.(caller);
    return caller;
  } catch (error) {
    if (error instanceof UnauthenticatedError) {
      const body = { ok: false, code: error.code, error: error.message, hint: HTTP_CREDENTIALS_HINT };
      sendJson(response, 401, body, { 'www-authenticate': 'Bearer realm="forelock"' });
      return null;
    }
    if (error instanceof PermissionDeniedError) {
      sendJson(response, 403, { ok: false, code: error.code, error: error.message });
      return null;
    }
    throw error;
  }
}

/**
 * GET /v1/locks: with `?limit=N` (1-100,000; `after` and `prefix` optional) one page as
 * `{"locks":[...],"nextAfter"}`; without it every lock as one JSON array, written a page at a time (waiting for the
 * client to drain each), so that no answer is built whole. Only the locks `readable` are answered: a page may hold
 * fewer than its limit, and `nextAfter` still continues it.
 */
async function sendLocks(
  deps: HttpDeps,
  query: URLSearchParams,
  response: ServerResponse,
  readable: (name: string) => boolean,
): Promise<void> {
  const prefix = query.get('prefix') ?? '';
  let after = query.get('after') ?? '';
  const limitText = query.get('limit');
  if (limitText !== null) {
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_HTTP_LOCK_PAGE) {
      sendJson(response, 400, {
        error: `limit must be an integer from 1 to ${MAX_HTTP_LOCK_PAGE}, got "${limitText}"`,
      });
      return;
    }
    const page = deps.lockPage(prefix, after, limit);
    const locks = page.locks.filter((lock) => readable(lock.name));
    sendJson(response, 200, { locks: locksJson(locks), nextAfter: page.nextAfter });
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' });
  let first = true;
  for (;;) {
    const page = deps.lockPage(prefix, after, HTTP_LOCK_PAGE);
    const items = locksJson(page.locks.filter((lock) => readable(lock.name))).map((lock) => JSON.stringify(lock));
    if (items.length > 0) {
      const chunk = `${first ? '[' : ','}${items.join(',')}`;
      first = false;
      if (!response.write(chunk)) await new Promise((resolve) => response.once('drain', resolve));
    }
    if (page.nextAfter === null || response.destroyed) break;
    after = page.nextAfter;
  }
  response.end(first ? '[]\n' : ']\n');
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) {
    body += String(chunk);
    if (body.length > MAX_BODY_BYTES) throw new RangeError(`request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  return body;
}

/** A parsed POST /test/faults body: a fault on the link to a peer, on the frames of a client, or this node's stalls. */
export type FaultRequest =
  | { readonly peer: string; readonly fault: PeerFault | null }
  | { readonly client: string; readonly fault: ClientLinkFault | null }
  | { readonly stall: LoopStallFault | null };

/**
 * Parses a POST /test/faults body: `{peer, delayMs, jitterMs, dropRate}` for a Raft peer link,
 * `{client, delayMs, jitterMs}` for the frames of the client named so in its session's open, or `{stallMs, periodMs}`
 * for this node's event loop kept busy stallMs out of every periodMs (src/server/loop-stall.ts); all-zero clears it.
 */
export function parseFaultRequest(body: string): FaultRequest {
  const raw = JSON.parse(body) as Record<string, unknown>;
  const number = (key: string, max: number): number => {
    const value = raw[key] ?? 0;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
      throw new RangeError(`${key} must be a number from 0 to ${max}, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  if (raw.stallMs !== undefined) {
    const stallMs = number('stallMs', MAX_STALL_MS);
    if (stallMs === 0) return { stall: null };
    return { stall: checkLoopStallFault({ stallMs, periodMs: number('periodMs', 60_000) }) };
  }
  if (raw.client !== undefined) {
    if (typeof raw.client !== 'string' || raw.client === '') throw new RangeError('client must name a client');
    if (raw.dropRate !== undefined) throw new RangeError('a client link takes delayMs and jitterMs, not dropRate');
    const fault: ClientLinkFault = { delayMs: number('delayMs', 600_000), jitterMs: number('jitterMs', 600_000) };
    return { client: raw.client, fault: fault.delayMs === 0 && fault.jitterMs === 0 ? null : fault };
  }
  if (typeof raw.peer !== 'string' || raw.peer === '') throw new RangeError('peer must name a peer id');
  const fault: PeerFault = {
    delayMs: number('delayMs', 600_000),
    jitterMs: number('jitterMs', 600_000),
    dropProbability: number('dropRate', 1),
  };
  const none = fault.delayMs === 0 && fault.jitterMs === 0 && fault.dropProbability === 0;
  return { peer: raw.peer, fault: none ? null : fault };
}

/** Why a node is not ready to serve (null: ready), as GET /readyz reports it. */
export function notReadyReason(status: RaftStatus): string | null {
  if (status.leaderId === null) return 'no leader known';
  if (status.appliedIndex < status.commitIndex) {
    return `applied index ${status.appliedIndex} behind commit index ${status.commitIndex}`;
  }
  return null;
}

async function route(deps: HttpDeps, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const method = request.method ?? 'GET';
  // Liveness: the process serves HTTP. Nothing about the cluster, so that a probe never restarts every pod of a
  // cluster that lost its quorum (restarts would not bring it back).
  if (method === 'GET' && path === '/livez') {
    sendJson(response, 200, { ok: true, id: deps.status().id });
    return;
  }
  // Readiness: this member knows a leader and has applied everything it knows committed, so what it serves (status,
  // locks, forwarded calls) is current.
  if (method === 'GET' && path === '/readyz') {
    const status = deps.status();
    const reason = notReadyReason(status);
    sendJson(response, reason === null ? 200 : 503, {
      ok: reason === null,
      id: status.id,
      leader: status.leaderId,
      commitIndex: status.commitIndex,
      appliedIndex: status.appliedIndex,
      ...(reason === null ? {} : { reason }),
    });
    return;
  }
  if (method === 'GET' && path === '/healthz') {
    const status = deps.status();
    const healthy = status.leaderId !== null;
    sendJson(response, healthy ? 200 : 503, {
      ok: healthy,
      id: status.id,
      role: status.role,
      leader: status.leaderId,
      term: status.term,
    });
    return;
  }
  if (method === 'GET' && path === '/metrics') {
    if (deps.metricsAuth) {
      const caller = admittedCaller(deps, request, response, 'GET /metrics', (candidate) =>
        deps.authenticator.requireRoot(candidate, 'GET /metrics', 'metrics'),
      );
      if (caller === null) return;
    }
    const text = await deps.metrics.registry.metrics();
    response.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
    response.end(text);
    return;
  }
  // docs/design.md, principle 8: with TLS, what the cluster holds (status, locks) is for callers with a certificate
  // from its CA; the probes and /metrics above stay open.
  if (deps.tls !== undefined && !(request.socket as TLSSocket).authorized) {
    sendJson(response, 403, { ok: false, error: `${path} needs a client certificate from the cluster CA` });
    return;
  }
  if (method === 'GET' && path === '/v1/status') {
    if (admittedCaller(deps, request, response, 'GET /v1/status') === null) return;
    sendJson(response, 200, statusJson(deps.status()));
    return;
  }
  if (method === 'GET' && path === '/v1/locks') {
    const caller = admittedCaller(deps, request, response, 'GET /v1/locks');
    if (caller === null) return;
    await sendLocks(deps, url.searchParams, response, (name) => deps.authenticator.permits(caller, 'read', name));
    return;
  }
  if (method === 'POST' && path === '/test/faults' && deps.setFault !== undefined) {
    try {
      const parsed = parseFaultRequest(await readBody(request));
      if ('stall' in parsed) {
        if (deps.setLoopStall === undefined) throw new RangeError('this node has no loop stalls');
        deps.setLoopStall(parsed.stall);
      } else if ('client' in parsed) {
        if (deps.setClientFault === undefined) throw new RangeError('this node has no client link faults');
        deps.setClientFault(parsed.client, parsed.fault);
      } else deps.setFault(parsed.peer, parsed.fault);
      deps.log.warn(parsed, 'test fault applied');
      sendJson(response, 200, { ok: true, ...parsed });
    } catch (error) {
      sendJson(response, 400, { ok: false, error: (error as Error).message });
    }
    return;
  }
  sendJson(response, 404, { ok: false, error: `no route for ${method} ${path}` });
}

/** A started HTTP endpoint. */
export interface HttpEndpoint {
  readonly address: HostPort;
  close(): Promise<void>;
}

/** Starts the HTTP endpoint on `address` (port 0: any free port; the bound one is in the result). */
export async function startHttp(address: HostPort, deps: HttpDeps): Promise<HttpEndpoint> {
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    route(deps, request, response).catch((error: unknown) => {
      deps.log.error({ err: error }, 'http request failed');
      if (!response.headersSent) sendJson(response, 500, { ok: false, error: String(error) });
      else response.end();
    });
  };
  const tls = deps.tls;
  let server: Server | HttpsServer;
  if (tls === undefined) {
    server = createServer(handle);
  } else {
    const https = createHttpsServer(
      { ...tls.secureContextOptions(), requestCert: true, rejectUnauthorized: false },
      handle,
    );
    tls.onReload(() => https.setSecureContext(tls.secureContextOptions()));
    server = https;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: { host: address.host, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
