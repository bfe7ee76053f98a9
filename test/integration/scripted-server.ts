// A scripted Forelock server on 127.0.0.1 (a test double speaking proto/forelock/v1/forelock.proto) whose session streams the
// test drives frame by frame: for the frames a real cluster sends rarely, late, or only under faults.
import * as grpc from '@grpc/grpc-js';
import { afterEach } from 'vitest';
import { type Client, connect } from '../../src/index.js';
import { channelFrameCodec, SessionMux, type SessionsCall } from '../../src/server/session-mux.js';
import { forelockServices } from '../../src/util/proto.js';
import { withFastSessionCodec } from '../../src/util/session-frame-codec.js';
import { waitFor } from '../support/wait-for.js';

/** A frame as the proto loader decodes it (oneof name in `frame`). */
export type Frame = Record<string, unknown> & { frame?: string };

/** One session stream as the scripted server sees it. */
export class ScriptedStream {
  private readonly received: Frame[] = [];
  private lastKeepaliveSeq = '0';
  /** True (the default): a CloseSession is answered at once, as a real server does; false: the test answers it. */
  answerClose = true;

  constructor(readonly call: grpc.ServerDuplexStream<Frame, Frame>) {
    call.on('data', (frame: Frame) => {
      if (frame.frame === 'keepalive') this.lastKeepaliveSeq = (frame.keepalive as { seq: string }).seq;
      this.received.push(frame);
      // As a real server: a closed session is answered with SessionEnded and the end of the stream.
      if (frame.frame === 'close' && this.answerClose) {
        this.send({ ended: { reason: 'closed' } });
        call.end();
      }
    });
    call.on('error', () => {});
  }

  /** The next received frame of `kind` (removed from the queue), waiting up to 10 s. */
  next(kind: string): Promise<Frame> {
    return waitFor(`a "${kind}" frame`, () => {
      const index = this.received.findIndex((f) => f.frame === kind);
      return index >= 0 ? (this.received.splice(index, 1)[0] as Frame) : undefined;
    });
  }

  /** How many received frames of `kind` nobody has taken with next() yet. */
  pending(kind: string): number {
    return this.received.filter((f) => f.frame === kind).length;
  }

  /** Sends a server frame naming the last keepalive received, as a real server does. */
  send(payload: Record<string, unknown>): void {
    this.call.write({ lastKeepaliveSeq: this.lastKeepaliveSeq, serverTimeMs: Date.now(), ...payload });
  }

  /** Answers every keepalive with guarantee `guaranteeMs` from now on. */
  answerKeepalives(guaranteeMs: number): void {
    this.call.on('data', (frame: Frame) => {
      if (frame.frame !== 'keepalive') return;
      const { seq } = frame.keepalive as { seq: string };
      this.send({
        keepalive: {
          seq,
          serverReceiveMs: Date.now(),
          guaranteeMs,
          keepaliveIntervalMs: Math.floor(guaranteeMs / 3),
        },
      });
    });
  }

  opened(fields: Record<string, unknown> = {}): void {
    this.send({
      opened: {
        sessionId: 's1',
        secret: 'secret-1',
        ttlMs: 10_000,
        guaranteeMs: 10_000,
        keepaliveIntervalMs: 3_333,
        leaderId: 'scripted',
        held: [],
        ...fields,
      },
    });
  }

  /** Sends a Staleness Warning for `name`/`token` (score 85, probability 0.8 unless `fields` say otherwise). */
  warn(name: string, token: string, warningId: string, fields: Record<string, unknown> = {}): void {
    this.send({
      warning: {
        warningType: 'Staleness Warning',
        resourceId: name,
        warningId,
        token,
        predictedStalenessMs: 2_000,
        predictedStaleAtMs: Date.now() + 2_000,
        preemptionScore: 85,
        probability: 0.8,
        reasons: ['rtt rising'],
        ackTimeoutMs: 2_000,
        guaranteeMs: 10_000,
        ...fields,
      },
    });
  }

  /**
   * Sends a Session Advisory: the begin (`active` true) or end of episode `advisoryId` of `condition` (probability
   * 0.9, guarantee 10 s, clock not measured, unless `fields` say otherwise).
   */
  advise(advisoryId: string, condition: string, active: boolean, fields: Record<string, unknown> = {}): void {
    this.send({
      advisory: {
        advisoryId,
        condition,
        active,
        detail: `${condition} ${active ? 'began' : 'ended'}`,
        guaranteeMs: 10_000,
        clockRateError: 0,
        probability: 0.9,
        ...fields,
      },
    });
  }

  /** Sends a Pre-emption Request for `name`/`token`. */
  preempt(name: string, token: string, graceMs: number, reason = 'waiters', warningId = 'w1'): void {
    this.send({ preemption: { resourceId: name, token, graceMs, revokeAtMs: 0, reason, warningId } });
  }

  /** Sends a RevocationNotice for `name`/`token`. */
  revoke(name: string, token: string, cause = 'preempted', reason = ''): void {
    this.send({ revoked: { resourceId: name, token, cause, reason, revokedAtMs: Date.now() } });
  }

  grant(requestSeq: string, name: string, token: string, fenced = false): void {
    this.send({
      acquire: {
        requestSeq,
        name,
        status: 'GRANTED',
        token,
        grantedAtMs: Date.now(),
        position: 0,
        fenced,
        mode: 'EXCLUSIVE',
      },
    });
  }
}

/**
 * A gRPC server on an ephemeral 127.0.0.1 port whose session streams are handed to the test: Session calls and, unless
 * `sessions` is false (an older server), the channels of Sessions calls, served by the node's own mux.
 */
export class ScriptedServer {
  readonly streams: ScriptedStream[] = [];
  /** Sessions calls opened so far. */
  sessionsCalls = 0;
  private readonly server = new grpc.Server();
  address = '';

  constructor(private readonly sessions = true) {}

  async start(): Promise<this> {
    const { Forelock } = forelockServices();
    const session = Forelock.service.Session as grpc.MethodDefinition<unknown, unknown>;
    const handlers: grpc.UntypedServiceImplementation = {
      Session: (call: grpc.ServerDuplexStream<Frame, Frame>) => {
        this.streams.push(new ScriptedStream(call));
      },
    };
    if (this.sessions) {
      handlers.Sessions = (call: SessionsCall) => {
        this.sessionsCalls++;
        new SessionMux(call, channelFrameCodec(session), (channel) => {
          this.streams.push(new ScriptedStream(channel as unknown as grpc.ServerDuplexStream<Frame, Frame>));
        });
      };
    }
    const service: grpc.ServiceDefinition = this.sessions
      ? { Session: session, Sessions: withFastSessionCodec(Forelock.service).Sessions! }
      : { Session: session };
    this.server.addService(service, handlers);
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    this.address = `127.0.0.1:${port}`;
    return this;
  }

  /**
   * The n-th stream opened (0-based), waiting for it: up to a minute, since a client is often a CLI process whose
   * start alone takes seconds on a loaded machine.
   */
  stream(n: number): Promise<ScriptedStream> {
    return waitFor(`stream #${n}`, () => this.streams[n], 60_000);
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

/** Registers an afterEach that stops every scripted server and closes every client the helpers made, newest first. */
export function useScriptedFixtures(): {
  /** A started scripted server (`sessions: false`: one that serves Session only, like an older server). */
  scripted(options?: { sessions?: boolean }): Promise<ScriptedServer>;
  /** Connects a client to `server`, answering the open frame on its next stream with `opened`'s fields. */
  connectTo(
    server: ScriptedServer,
    opened?: Record<string, unknown>,
  ): Promise<{ client: Client; stream: ScriptedStream }>;
  /** Runs `cleanup` after the test. */
  defer(cleanup: () => unknown): void;
} {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    async scripted(options: { sessions?: boolean } = {}) {
      const server = await new ScriptedServer(options.sessions ?? true).start();
      cleanups.push(() => server.stop());
      return server;
    },
    async connectTo(server, opened = {}) {
      const connecting = connect({
        endpoints: [server.address],
        name: 'scripted',
        backoff: { initialMs: 10, maxMs: 50 },
      });
      const stream = await server.stream(server.streams.length);
      await stream.next('open');
      stream.opened(opened);
      const client = await connecting;
      cleanups.push(() => client.close());
      return { client, stream };
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
  };
}
