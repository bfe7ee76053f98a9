// One Forelock node process: a grpc.Server on --listen serving the client, admin and Raft peer services, a RaftNode
// running the lock state machine, and the HTTP endpoint. Entry point of the server package.
import { basename } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { type Logger, pino } from 'pino';
import { LockStateMachine } from '../lock/state-machine.js';
import { bootstrapConf, joiningConf } from '../raft/bootstrap.js';
import { deriveClusterId } from '../raft/cluster-id.js';
import { DEFAULT_TICK_MS, defaultRaftConfig } from '../raft/defaults.js';
import { RaftNode } from '../raft/node.js';
import { PEER_MAX_MESSAGE_BYTES, registerPeerService } from '../raft/transport.js';
import { tlsPeerAuthenticator } from '../security/peer-certificates.js';
import { ServerTls } from '../security/server-tls.js';
import type { Clock } from '../util/clock.js';
import { ClientLinkFaults } from './client-link-faults.js';
import { formatHostPort, type HostPort, isLoopbackHost, type ServerConfig } from './config.js';
import { type HttpEndpoint, startHttp } from './http.js';
import { LoopStall } from './loop-stall.js';
import { ForelockServices } from './services.js';
import { TraceFileSink } from './trace-recorder.js';

/** A running node. */
export interface NodeServer {
  readonly config: ServerConfig;
  /** The bound gRPC address (the real port when --listen asked for port 0). */
  readonly grpcAddress: HostPort;
  /** The bound HTTP address. */
  readonly httpAddress: HostPort;
  readonly raft: RaftNode;
  readonly machine: LockStateMachine;
  readonly services: ForelockServices;
  readonly log: Logger;
  /** The TLS material in use (null: plaintext). */
  readonly tls: ServerTls | null;
  /**
   * Re-reads the TLS files (on SIGHUP) for new connections; on a bad file the material in use stays, and the error
   * is logged and rethrown. Resolves at once without TLS.
   */
  reloadTls(): Promise<void>;
  /** Stops serving: session streams are told to go elsewhere, then HTTP, gRPC and the Raft node close. */
  close(): Promise<void>;
}

/** Optional parts of a node that tests replace. */
export interface NodeServerOverrides {
  readonly log?: Logger;
  readonly clock?: Clock;
  /** Raft timing overrides (e.g. shorter ticks in tests). */
  readonly tickMs?: number;
  /** Called once when storage failed and the Raft node closed itself (`forelock serve` then exits non-zero). */
  readonly onFatal?: (error: unknown) => void;
}

function bind(server: grpc.Server, address: HostPort, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(formatHostPort(address), credentials, (error, port) =>
      error ? reject(new Error(`cannot listen on ${formatHostPort(address)}: ${error.message}`)) : resolve(port),
    );
  });
}

function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts a node from its configuration: starts (or resumes) Raft, then serves clients and peers on --listen, and HTTP. */
export async function startNodeServer(config: ServerConfig, overrides: NodeServerOverrides = {}): Promise<NodeServer> {
  const log = overrides.log ?? pino({ level: config.logLevel, base: { node: config.id } });
  const server = new grpc.Server({
    'grpc.max_receive_message_length': PEER_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': PEER_MAX_MESSAGE_BYTES,
  });
  const tls = config.tls === null ? null : await ServerTls.load(config.tls);
  if (tls === null && config.insecure && !isLoopbackHost(config.listen.host)) {
    log.warn(
      { listen: formatHostPort(config.listen) },
      '--insecure: plaintext, unauthenticated; anyone who reaches this port can take any lock and speak Raft',
    );
  }
  const credentials = tls?.serverCredentials() ?? grpc.ServerCredentials.createInsecure();
  // A fixed port is bound only once the services are registered: a client (or peer) that reaches a node still
  // replaying its log is refused a connection, which it retries, instead of answered UNIMPLEMENTED, which the SDK
  // takes as final (issue 13: 44 of 100 sessions ended so when a node holding 30,000 locks restarted). Port 0 (tests)
  // is bound first, for the port the node's own address needs.
  const earlyPort = config.listen.port === 0 ? await bind(server, config.listen, credentials) : null;
  const port = earlyPort ?? config.listen.port;
  // One line per refused peer and reason (docs/design.md, principle 8), not one per reconnect attempt.
  const refusalsLogged = new Set<string>();
  // Set once the services exist; refusals before that are logged only.
  let metrics: ForelockServices['metrics'] | undefined;
  const onPeerRefused = (peer: string, direction: 'inbound' | 'outbound', reason: string): void => {
    metrics?.peerRefusals.inc({ direction });
    const key = `${direction}\u0000${peer}\u0000${reason}`;
    if (refusalsLogged.has(key) || refusalsLogged.size >= 1_000) return;
    refusalsLogged.add(key);
    log.warn(
      { peer, direction, reason },
      direction === 'inbound' ? 'refused a peer stream' : 'a peer refused our stream',
    );
  };
  const grpcAddress: HostPort = { host: config.listen.host, port };
  const selfAddress = config.peers[config.id] ?? formatHostPort(grpcAddress);
  const machine = new LockStateMachine({
    maxWaitersPerLock: config.maxWaitersPerLock,
    maxSessionsPerClient: config.maxSessionsPerClient,
    lockDelayMs: config.lockDelayMs,
  });
  let raft: RaftNode;
  // The services (and their metrics) exist only once Raft has started; writes of the start itself go unmeasured.
  let services: ForelockServices | undefined;
  try {
    raft = await RaftNode.start({
      id: config.id,
      dataDir: config.dataDir,
      stateMachine: machine,
      initialConf: config.join
        ? joiningConf()
        : bootstrapConf(Object.keys(config.peers).length > 0 ? config.peers : { [config.id]: selfAddress }),
      // A founder's --peers and --cluster-token name its cluster (etcd's initial cluster and token).
      foundingClusterId:
        config.join || Object.keys(config.peers).length === 0
          ? null
          : deriveClusterId(config.peers, config.clusterToken),
      clusterToken: config.clusterToken,
      forceNewCluster: config.forceNewCluster,
      onForcedNewCluster: (removed, commitIndex) =>
        log.warn(
          { removed, commitIndex },
          'forced a new cluster: this node is its only member, with every entry it had committed; add the others back with forelock members add',
        ),
      knownPeers: config.peers,
      ...(tls === null ? {} : { peerAuthenticator: tlsPeerAuthenticator(tls) }),
      onPeerRefused,
      snapshotEveryEntries: config.snapshotEveryEntries,
      faultInjection: config.testFaultInjection,
      ...(overrides.tickMs === undefined ? {} : { tickMs: overrides.tickMs }),
      onSyncedWrite: (seconds) => services?.metrics.fsyncDuration.observe(seconds),
      onFatal: (error) => {
        log.fatal({ err: error }, 'storage failed; the Raft node closed itself');
        overrides.onFatal?.(error);
      },
    });
  } catch (error) {
    server.forceShutdown();
    throw error;
  }
  registerPeerService(server, raft.transport);
  let traceSink: TraceFileSink | undefined;
  if (config.recordTrace !== null) {
    try {
      traceSink = await TraceFileSink.open(config.recordTrace, (error) =>
        log.error({ err: error, file: config.recordTrace }, 'recording the trace failed; recording stopped'),
      );
    } catch (error) {
      await raft.close();
      server.forceShutdown();
      throw new Error(`cannot write --record-trace ${config.recordTrace}: ${(error as Error).message}`);
    }
  }
  // A deposed leader steps down within one election timeout of losing its quorum, and this node was elected no
  // sooner than one election timeout after the quorum last heard from it: twice the longest timeout bounds it.
  const maxElectionTimeoutMs = 2 * defaultRaftConfig(config.id).electionTicks * (overrides.tickMs ?? DEFAULT_TICK_MS);
  const linkFaults = config.testFaultInjection ? new ClientLinkFaults() : undefined;
  const loopStall = config.testFaultInjection ? new LoopStall() : undefined;
  services = new ForelockServices({
    raft,
    machine,
    log,
    ...(linkFaults === undefined ? {} : { linkFaults }),
    maxMessageBytes: config.maxMessageBytes,
    deposedLeaderOverhangMs: 2 * maxElectionTimeoutMs,
    preemption: config.preemption,
    spm: config.spm,
    ladder: config.ladder,
    ...(tls === null ? {} : { peerCredentials: () => tls.channelCredentials() }),
    authTokenTtlMs: config.authTokenTtlMs,
    ...(traceSink === undefined
      ? {}
      : {
          recordTrace: {
            sink: traceSink,
            name: basename(config.recordTrace!).replace(/\.jsonl$/, ''),
            maxBytes: config.recordTraceMaxBytes,
          },
        }),
    ...(overrides.clock === undefined ? {} : { clock: overrides.clock }),
  });
  metrics = services.metrics;
  services.register(server);
  if (earlyPort === null) {
    try {
      await bind(server, config.listen, credentials);
    } catch (error) {
      services.close();
      await traceSink?.close();
      await raft.close();
      server.forceShutdown();
      throw error;
    }
  }
  let http: HttpEndpoint;
  try {
    http = await startHttp(config.http, {
      status: () => raft.status(),
      lockPage: (prefix, after, limit) => machine.lockPage(prefix, after, limit),
      metrics: services.metrics,
      authenticator: services.authenticator,
      metricsAuth: config.metricsAuth,
      log,
      ...(tls === null ? {} : { tls }),
      ...(linkFaults === undefined
        ? {}
        : {
            setFault: (peer, fault) => raft.transport.setFault(peer, fault),
            setClientFault: (client, fault) => linkFaults.set(client, fault),
            setLoopStall: (fault) => loopStall?.set(fault),
          }),
    });
  } catch (error) {
    services.close();
    await traceSink?.close();
    await raft.close();
    server.forceShutdown();
    throw error;
  }
  raft.onStatusChange((status) => {
    log.info({ role: status.role, term: status.term, leader: status.leaderId }, 'raft status');
  });
  log.info(
    { listen: formatHostPort(grpcAddress), http: formatHostPort(http.address), dataDir: config.dataDir },
    'forelock node serving',
  );
  let closing: Promise<void> | null = null;
  return {
    config,
    grpcAddress,
    httpAddress: http.address,
    raft,
    machine,
    services,
    log,
    tls,
    reloadTls: async () => {
      if (tls === null) return;
      try {
        await tls.reload();
        log.info({ cert: tls.files.certFile, ca: tls.files.caFile }, 'TLS certificates re-read');
      } catch (error) {
        log.error({ reason: (error as Error).message }, 'TLS certificates not re-read; the ones in use stay');
        throw error;
      }
    },
    close: () => {
      closing ??= (async () => {
        loopStall?.set(null);
        services.close();
        await traceSink?.close();
        await http.close();
        await raft.close();
        await shutdown(server, 1_000);
        log.info('forelock node stopped');
      })();
      return closing;
    },
  };
}
