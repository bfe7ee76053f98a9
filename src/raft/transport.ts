// gRPC peer transport: one long-lived outbound stream per peer, batched frames, bounded queues, reconnect, faults.
import * as grpc from '@grpc/grpc-js';
import { loadProto, RAFT_PROTO } from '../util/proto.js';
import { randomRng, type SeededRng } from '../util/rng.js';
import { decodeMessages, encodeMessages } from './codec.js';
import { FaultInjectionDisabledError } from './errors.js';
import type { Message, NodeId } from './types.js';

/** A frame on the wire: a msgpackr-encoded batch of messages. */
interface PeerFrame {
  payload: Uint8Array;
}

/** Test-only faults on the link to one peer. */
export interface PeerFault {
  /** Added delay before a frame is written, in ms. */
  readonly delayMs: number;
  /** Uniform extra delay in [0, jitterMs) per frame (frames may then be reordered). */
  readonly jitterMs: number;
  /** Probability that each message is dropped. */
  readonly dropProbability: number;
}

/** An inbound peer stream as the transport sees it. */
export type InboundPeerCall = grpc.ServerDuplexStream<PeerFrame, PeerFrame>;

/**
 * Who a link's other end is, as far as transport security can tell (docs/design.md, principle 8): the credentials
 * outbound links present, and whether an inbound stream's TLS identity may speak for the member id it claims.
 */
export interface PeerAuthenticator {
  /** Credentials of outbound links; asked at every (re)connect, so rotated certificates are used. */
  channelCredentials(): grpc.ChannelCredentials;
  /** Why `call`'s transport identity may not speak for member `peer`, or null when it may. */
  refusal(call: InboundPeerCall, peer: NodeId): string | null;
}

/** What the transport needs to know of the node's cluster: its id and its current members. */
export interface PeerMembership {
  /** This node's cluster id; '' while a joining node has not yet adopted its leader's. */
  clusterId(): string;
  /** Records the cluster id of the first member that reaches a joining node (durably, before any of its messages). */
  adoptClusterId(clusterId: string): Promise<void>;
  /** Whether `peer` may send Raft messages: a current voter or learner, or anyone while this node knows no members. */
  isMember(peer: NodeId): boolean;
}

/** gRPC metadata every outbound peer stream carries: the sender's cluster and member id. */
export const CLUSTER_ID_METADATA = 'forelock-cluster-id';
export const PEER_ID_METADATA = 'forelock-peer-id';

/** The transport with no security: plaintext links, any claimed id accepted (tests, and the insecure default). */
export const PLAINTEXT_PEERS: PeerAuthenticator = {
  channelCredentials: () => grpc.credentials.createInsecure(),
  refusal: () => null,
};

/** How a transport is built. */
export interface PeerTransportOptions {
  readonly selfId: NodeId;
  /** Transport security of links: credentials out, identities in. Default PLAINTEXT_PEERS. */
  readonly authenticator?: PeerAuthenticator;
  /**
   * The cluster this node belongs to. Given: every stream carries the cluster id and sender id, and a stream from
   * another cluster or a non-member is refused. Absent (transport tests): streams are not checked.
   */
  readonly membership?: PeerMembership;
  /** Called when a stream is refused, either way round (`direction`), with why; the caller logs it. */
  readonly onRefused?: (peer: string, direction: 'inbound' | 'outbound', reason: string) => void;
  /** Called for every message received from a peer and addressed to this node. */
  readonly onMessage: (message: Message) => void;
  /** Called when a peer cannot be reached or a message to it was dropped, so the core can retry (snapshots). */
  readonly onUnreachable?: (peer: NodeId) => void;
  /** Enables setFault(); tests only, never on by default. */
  readonly faultInjection?: boolean;
  /** Messages queued per peer before new ones are dropped (Raft tolerates loss). Default 8,192. */
  readonly maxQueuedMessages?: number;
  /** Estimated bytes queued per peer before new messages are dropped. Default 64 MiB. */
  readonly maxQueuedBytes?: number;
  /** Estimated payload bytes per frame; a flush writes several frames when more is queued. Default 1 MiB. */
  readonly maxFrameBytes?: number;
  /** Reconnect backoff bounds, in ms. Defaults 50 and 1,000. */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
}

/** The gRPC receive limit peers need: frames and snapshot chunks stay well below it. */
export const PEER_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

type PeerService = grpc.ServiceClientConstructor & { service: grpc.ServiceDefinition };

/** The RaftPeer service of proto/forelock/raft/raft.proto. */
function loadPeerService(): PeerService {
  const pkg = loadProto(RAFT_PROTO) as unknown as { forelock: { raft: { RaftPeer: PeerService } } };
  return pkg.forelock.raft.RaftPeer;
}

/** A rough payload size, to bound queues and frames without encoding twice. */
function estimateBytes(message: Message): number {
  if (message.type === 'append') {
    let bytes = 64;
    for (const entry of message.entries) bytes += entry.data.byteLength + 16;
    return bytes;
  }
  if (message.type === 'snapshot') return 128 + message.chunk.byteLength;
  return 64;
}

type StreamCall = grpc.ClientDuplexStream<PeerFrame, PeerFrame>;

/** The outbound side of the link to one peer. */
class PeerLink {
  private client: grpc.Client;
  private call: StreamCall | null = null;
  private queue: Message[] = [];
  private queuedBytes = 0;
  private draining = false;
  private backoffMs: number;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private closed = false;
  fault: PeerFault | null = null;

  constructor(
    readonly peer: NodeId,
    readonly address: string,
    private readonly transport: PeerTransportState,
  ) {
    this.backoffMs = transport.reconnectMinMs;
    this.client = this.createClient();
    this.open();
  }

  private createClient(): grpc.Client {
    const Client = loadPeerService();
    return new Client(this.address, this.transport.authenticator.channelCredentials(), {
      'grpc.max_send_message_length': PEER_MAX_MESSAGE_BYTES,
      'grpc.max_receive_message_length': PEER_MAX_MESSAGE_BYTES,
      'grpc.initial_reconnect_backoff_ms': this.transport.reconnectMinMs,
      'grpc.max_reconnect_backoff_ms': this.transport.reconnectMaxMs,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
    });
  }

  private open(): void {
    const metadata = new grpc.Metadata();
    const membership = this.transport.membership;
    if (membership !== undefined) {
      metadata.set(CLUSTER_ID_METADATA, membership.clusterId());
      metadata.set(PEER_ID_METADATA, this.transport.selfId);
    }
    const call = (this.client as unknown as { Stream(metadata: grpc.Metadata): StreamCall }).Stream(metadata);
    this.call = call;
    this.draining = false;
    // The server sends its metadata once it has accepted the stream: the link is up, reset the backoff.
    call.on('metadata', () => {
      this.backoffMs = this.transport.reconnectMinMs;
    });
    call.on('data', () => {});
    call.on('drain', () => {
      if (this.call !== call) return;
      this.draining = false;
      this.flush();
    });
    const onDown = (): void => {
      if (this.call !== call) return;
      this.call = null;
      this.dropQueue();
      this.transport.onUnreachable?.(this.peer);
      this.scheduleReconnect();
    };
    call.on('error', (error: grpc.ServiceError) => {
      if (this.call === call && error.code === grpc.status.PERMISSION_DENIED) {
        this.transport.onRefused?.(this.peer, 'outbound', error.details);
      }
      onDown();
    });
    call.on('end', onDown);
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== null) return;
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.transport.reconnectMaxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closed) return;
      // New credentials each time: certificates re-read on SIGHUP reach links that reconnect.
      this.client.close();
      this.client = this.createClient();
      this.open();
    }, delayMs);
  }

  /** Queues a message; drops it when the link is down or the queue is full. */
  enqueue(message: Message): void {
    const bytes = estimateBytes(message);
    if (
      this.call === null ||
      this.queue.length >= this.transport.maxQueuedMessages ||
      this.queuedBytes + bytes > this.transport.maxQueuedBytes
    ) {
      this.transport.dropped++;
      if (message.type === 'snapshot') this.transport.onUnreachable?.(this.peer);
      return;
    }
    this.queue.push(message);
    this.queuedBytes += bytes;
  }

  /** Writes everything queued as frames of at most maxFrameBytes (estimated), unless the stream is full. */
  flush(): void {
    while (this.call !== null && !this.draining && this.queue.length > 0) {
      let frameBytes = 0;
      let count = 0;
      while (count < this.queue.length && (count === 0 || frameBytes < this.transport.maxFrameBytes)) {
        frameBytes += estimateBytes(this.queue[count]!);
        count++;
      }
      const batch = count === this.queue.length ? this.queue : this.queue.slice(0, count);
      this.queue = count === this.queue.length ? [] : this.queue.slice(count);
      this.queuedBytes -= frameBytes;
      this.write(batch);
    }
  }

  private write(batch: Message[]): void {
    const fault = this.fault;
    if (fault === null) {
      if (!this.call!.write({ payload: encodeMessages(batch) })) this.draining = true;
      return;
    }
    const kept = batch.filter(() => {
      if (!this.transport.rng.chance(fault.dropProbability)) return true;
      this.transport.dropped++;
      return false;
    });
    if (kept.length === 0) return;
    const payload = encodeMessages(kept);
    const delayMs = fault.delayMs + (fault.jitterMs > 0 ? this.transport.rng.uniform(0, fault.jitterMs) : 0);
    const call = this.call!;
    if (delayMs <= 0) {
      call.write({ payload });
      return;
    }
    const timer = setTimeout(() => {
      this.transport.delayedWrites.delete(timer);
      if (this.call === call) call.write({ payload });
    }, delayMs);
    this.transport.delayedWrites.add(timer);
  }

  private dropQueue(): void {
    this.transport.dropped += this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    const call = this.call;
    this.call = null;
    this.dropQueue();
    call?.cancel();
    this.client.close();
  }
}

/** What links share with their transport. */
interface PeerTransportState {
  readonly selfId: NodeId;
  readonly authenticator: PeerAuthenticator;
  readonly membership: PeerMembership | undefined;
  readonly onRefused: PeerTransportOptions['onRefused'];
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly maxFrameBytes: number;
  readonly onUnreachable: ((peer: NodeId) => void) | undefined;
  readonly rng: SeededRng;
  readonly delayedWrites: Set<NodeJS.Timeout>;
  dropped: number;
}

/**
 * Sends Raft messages to peers over one gRPC bidirectional stream each and delivers received ones to
 * `onMessage`. send() queues; flush() writes each peer's queue as batched frames (one per flush normally).
 */
export class PeerTransport {
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<grpc.ServerDuplexStream<PeerFrame, PeerFrame>>();
  private readonly state: PeerTransportState;
  private closed = false;

  constructor(private readonly options: PeerTransportOptions) {
    this.state = {
      selfId: options.selfId,
      authenticator: options.authenticator ?? PLAINTEXT_PEERS,
      membership: options.membership,
      onRefused: options.onRefused,
      reconnectMinMs: options.reconnectMinMs ?? 50,
      reconnectMaxMs: options.reconnectMaxMs ?? 1_000,
      maxQueuedMessages: options.maxQueuedMessages ?? 8_192,
      maxQueuedBytes: options.maxQueuedBytes ?? 64 * 1024 * 1024,
      maxFrameBytes: options.maxFrameBytes ?? 1024 * 1024,
      onUnreachable: options.onUnreachable,
      rng: randomRng(),
      delayedWrites: new Set(),
      dropped: 0,
    };
  }

  /** This node's id. */
  get selfId(): NodeId {
    return this.options.selfId;
  }

  /** Messages dropped so far (queue full, link down, or injected faults). */
  get droppedMessages(): number {
    return this.state.dropped;
  }

  /** Makes the set of peers exactly `addresses` (this node's own entry is ignored); links are kept when unchanged. */
  setPeers(addresses: Readonly<Record<NodeId, string>>): void {
    if (this.closed) return;
    for (const [peer, link] of this.links) {
      if (addresses[peer] !== link.address) {
        link.close();
        this.links.delete(peer);
      }
    }
    for (const [peer, address] of Object.entries(addresses)) {
      if (peer === this.options.selfId || this.links.has(peer)) continue;
      this.links.set(peer, new PeerLink(peer, address, this.state));
    }
  }

  /** Queues messages for their peers; they go out at the next flush(). Messages to unknown peers are dropped. */
  send(messages: readonly Message[]): void {
    for (const message of messages) {
      const link = this.links.get(message.to);
      if (link === undefined) {
        this.state.dropped++;
        if (message.type === 'snapshot') this.options.onUnreachable?.(message.to);
        continue;
      }
      link.enqueue(message);
    }
  }

  /** Writes every peer's queue. */
  flush(): void {
    for (const link of this.links.values()) link.flush();
  }

  /** Test only: adds delay, jitter and loss on the link to `peer` (null clears). Throws unless constructed with faultInjection. */
  setFault(peer: NodeId, fault: PeerFault | null): void {
    if (this.options.faultInjection !== true) throw new FaultInjectionDisabledError();
    const link = this.links.get(peer);
    if (link === undefined) throw new RangeError(`unknown peer ${peer}`);
    link.fault = fault;
  }

  /**
   * Hands one received frame's messages to onMessage (used by the gRPC service). With a `sender` (an admitted
   * stream's member id), only messages from that member, while it is a member, are delivered; others are dropped.
   */
  receive(payload: Uint8Array, sender: NodeId | null = null): void {
    if (this.closed) return;
    const membership = this.options.membership;
    for (const message of decodeMessages(payload)) {
      if (message.to !== this.options.selfId) continue;
      if (sender !== null && (message.from !== sender || membership?.isMember(sender) === false)) {
        this.state.dropped++;
        continue;
      }
      this.options.onMessage(message);
    }
  }

  /**
   * Decides whether an inbound stream may deliver Raft messages (docs/design.md, principle 8): it must name this
   * node's cluster (a joining node that has none yet adopts it) and a current member, and its transport identity
   * must speak for that member. Resolves with the sender's id, or with why the stream is refused.
   */
  async admit(call: InboundPeerCall): Promise<{ readonly sender: NodeId | null } | { readonly refused: string }> {
    const membership = this.options.membership;
    if (membership === undefined) return { sender: null };
    const text = (key: string): string => {
      const value = call.metadata.get(key)[0];
      return typeof value === 'string' ? value : '';
    };
    const sender = text(PEER_ID_METADATA);
    const theirs = text(CLUSTER_ID_METADATA);
    if (sender === '') return { refused: 'the stream names no sending member (a release before cluster ids?)' };
    if (theirs === '') {
      return {
        refused: `${sender} names no cluster id (a joining node not yet added, or a release before cluster ids)`,
      };
    }
    const identityProblem = this.state.authenticator.refusal(call, sender);
    if (identityProblem !== null) return { refused: identityProblem };
    if (membership.clusterId() === '') await membership.adoptClusterId(theirs);
    const ours = membership.clusterId();
    if (theirs !== ours) return { refused: `${sender} belongs to cluster ${theirs}, this node to cluster ${ours}` };
    if (!membership.isMember(sender)) return { refused: `${sender} is not a member of cluster ${ours}` };
    return { sender };
  }

  /** Ends a refused inbound stream with PERMISSION_DENIED and reports it (onRefused). */
  refuse(call: InboundPeerCall, reason: string): void {
    const sender = call.metadata.get(PEER_ID_METADATA)[0];
    this.options.onRefused?.(typeof sender === 'string' && sender !== '' ? sender : call.getPeer(), 'inbound', reason);
    // The stream's own 'error' handler turns this into the call's status (grpc-js ServerDuplexStream).
    call.emit('error', Object.assign(new Error(reason), { code: grpc.status.PERMISSION_DENIED, details: reason }));
  }

  /** Tracks an inbound stream so close() can end it. */
  acceptInbound(call: grpc.ServerDuplexStream<PeerFrame, PeerFrame>): void {
    if (this.closed) {
      call.end();
      return;
    }
    this.inbound.add(call);
    const forget = (): void => {
      this.inbound.delete(call);
    };
    call.on('end', forget);
    call.on('error', forget);
    call.on('close', forget);
  }

  /** Closes every link and inbound stream and cancels delayed writes. */
  close(): void {
    this.closed = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    for (const timer of this.state.delayedWrites) clearTimeout(timer);
    this.state.delayedWrites.clear();
    for (const call of this.inbound) call.end();
    this.inbound.clear();
  }
}

/**
 * Adds the RaftPeer service to `server`, delivering inbound frames to `transport`. The same grpc.Server (and
 * its one `--listen` port) serves the client API too; create it with `grpc.max_receive_message_length` of at
 * least PEER_MAX_MESSAGE_BYTES when snapshots are large.
 */
export function registerPeerService(server: grpc.Server, transport: PeerTransport): void {
  server.addService(loadPeerService().service, {
    Stream: (call: InboundPeerCall) => {
      call.on('error', () => {});
      // No 'data' listener until admitted: frames wait in the stream's buffer meanwhile.
      transport.admit(call).then(
        (verdict) => {
          if ('refused' in verdict) {
            transport.refuse(call, verdict.refused);
            return;
          }
          call.sendMetadata(new grpc.Metadata());
          transport.acceptInbound(call);
          call.on('data', (frame: PeerFrame) => {
            try {
              transport.receive(frame.payload, verdict.sender);
            } catch (error) {
              call.destroy(error instanceof Error ? error : new Error(String(error)));
            }
          });
          call.on('end', () => call.end());
        },
        (error: unknown) => transport.refuse(call, `admitting the stream failed: ${(error as Error).message}`),
      );
    },
  });
}
