// One Sessions call on the server: many session streams on one gRPC stream. Each channel is handed to its own handler
// as a call of its own (the events and methods of a grpc-js server duplex call), and the frames sent in one event-loop
// turn leave as one ServerBatch (proto/forelock/v1/forelock.proto). Flow control: the channels take turns in each batch,
// nothing is written while the call's buffer is full until it drains, and each channel's queue is bounded
// (util/channel-outbox.ts): its write() answers false past the high-water mark and it emits 'drain' below it again.
// A handler that cannot write pauses its channel, as it would pause a grpc-js call: the channel's frames wait, their
// bytes bounded by the same limit, while the other channels' frames go on being read.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { ChannelOutbox, type ChannelOutboxOptions } from '../util/channel-outbox.js';
import {
  type ChannelStatus,
  type ClientChannelEvent,
  decodeClientBatch,
  encodedSizeOf,
  encodeServerBatch,
  type ServerChannelEvent,
} from '../util/session-mux-codec.js';

/** The grpc-js call of Forelock.Sessions (batches as bytes: the mux codes them). */
export type SessionsCall = grpc.ServerDuplexStream<Buffer, Buffer>;

/** How one channel's frames are read and written: the Session method's own decoder (with its size limit) and encoder. */
export interface ChannelFrameCodec {
  decodeClientFrame(bytes: Buffer): unknown;
  encodeServerFrame(frame: unknown): Buffer;
}

/** A channel's codec from the Session method definition the node serves (its size limit and fast codec included). */
export function channelFrameCodec<Request, Response>(
  session: grpc.MethodDefinition<Request, Response>,
): ChannelFrameCodec {
  return {
    decodeClientFrame: (bytes) => session.requestDeserialize(bytes),
    // The handler writes what its Session call would: frames of the method's response type.
    encodeServerFrame: (frame) => session.responseSerialize(frame as Response),
  };
}

const OK_STATUS: ChannelStatus = { code: grpc.status.OK, details: '', metadata: {} };

/** A status as a handler ends a call with it (`call.emit('error', status)`), in a ChannelStatus's terms. */
function channelStatusOf(error: unknown): ChannelStatus {
  const status = (error ?? {}) as Partial<grpc.ServiceError>;
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(status.metadata?.getMap() ?? {})) {
    if (typeof value === 'string') metadata[key] = value;
  }
  return {
    code: typeof status.code === 'number' ? status.code : grpc.status.UNKNOWN,
    details: status.details ?? status.message ?? '',
    metadata,
  };
}

/**
 * One channel of a Sessions call, as its handler sees it: 'data' (a decoded frame), 'end' (the client half-closed),
 * 'cancelled' and 'close' (the client or the stream went away), 'drain' (the channel may be written again after
 * write() answered false); `write`, `end()`, and `emit('error', status)` to end it with a status, `pause()` and
 * `resume()` to stop and restart its 'data' and 'end', as on a grpc-js server call. A channel that goes on writing
 * past its queue's limit, or whose client sends more than that limit while it is paused, is ended with UNAVAILABLE
 * (its client resumes the session, which loses nothing: the resume answers with its locks and re-sent requests are
 * deduplicated) and its handler hears 'cancelled'. `cancelled` says, as on a grpc-js call, whether the client went
 * away (it cancelled the channel, or its whole call ended without the node ending it), not the node.
 */
export class MuxChannelCall extends EventEmitter {
  private done = false;
  private cancelledByClient = false;
  private paused = false;
  /** Frames and the half-close that arrived while paused (or behind ones that did), in order, with their bytes. */
  private held: ClientChannelEvent[] = [];
  /** The first of `held` not yet delivered. */
  private heldHead = 0;
  private heldBytes = 0;

  constructor(
    private readonly mux: SessionMux,
    readonly channel: number,
  ) {
    super();
  }

  /** Whether the client went away (true before 'cancelled' is heard), as grpc-js's `call.cancelled`. */
  get cancelled(): boolean {
    return this.cancelledByClient;
  }

  /** Queues `frame`; false when the channel's queue is at its high-water mark (wait for 'drain') or it has ended. */
  write(frame: unknown): boolean {
    if (this.done) return false;
    return this.mux.sendFrame(this.channel, frame);
  }

  /** Stops 'data' and 'end': what arrives waits, up to the channel's limit, until resume(). */
  pause(): this {
    this.paused = true;
    return this;
  }

  /** Delivers what waited, in order, and what arrives from now on (until the handler pauses again). */
  resume(): this {
    this.paused = false;
    while (!this.paused && !this.done && this.heldHead < this.held.length) {
      const event = this.held[this.heldHead++]!;
      this.heldBytes -= encodedSizeOf(event);
      this.deliver(event);
    }
    if (this.heldHead >= this.held.length) this.forgetHeld();
    else if (this.heldHead * 2 > this.held.length) {
      // Delivered slots are let go of, so the array stays within twice what waits.
      this.held = this.held.slice(this.heldHead);
      this.heldHead = 0;
    }
    return this;
  }

  /** Bytes of frames that arrived and wait for resume(). */
  get waitingBytes(): number {
    return this.heldBytes;
  }

  /** @internal a frame or the half-close of this channel arrived: delivered, or held while paused. */
  received(event: ClientChannelEvent, limitBytes: number): void {
    if (this.done) return;
    if (!this.paused && this.heldHead >= this.held.length) {
      this.deliver(event);
      return;
    }
    const size = encodedSizeOf(event);
    if (event.kind === 'frame' && this.heldBytes + size > limitBytes) {
      this.overflowed(
        `the client sent more than ${limitBytes} bytes for this session while the server could not answer it; resume the session`,
      );
      return;
    }
    this.held.push(event);
    this.heldBytes += size;
  }

  private forgetHeld(): void {
    this.held = [];
    this.heldHead = 0;
    this.heldBytes = 0;
  }

  private deliver(event: ClientChannelEvent): void {
    if (event.kind === 'half-close') {
      this.emit('end');
      return;
    }
    if (event.kind !== 'frame') return;
    let frame: unknown;
    try {
      frame = this.mux.codec.decodeClientFrame(
        Buffer.from(event.bytes.buffer, event.bytes.byteOffset, event.bytes.length),
      );
    } catch {
      // As grpc-js answers a Session call whose request does not decode.
      this.emit('error', { code: grpc.status.INTERNAL, details: 'Error deserializing request' });
      return;
    }
    this.emit('data', frame);
  }

  /** Ends the channel with an OK status. */
  end(): void {
    this.finish(OK_STATUS);
  }

  /** `emit('error', status)` ends the channel with that status, as it ends a grpc-js call; listeners hear it too. */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error') this.finish(channelStatusOf(args[0]));
    return super.emit(event, ...args);
  }

  /** @internal its queue went below the high-water mark. */
  drained(): void {
    if (!this.done) super.emit('drain');
  }

  /** @internal a queue of it went past its limit: the client is told to come back, the handler that it went away. */
  overflowed(details: string): void {
    if (this.done) return;
    this.forgetHeld();
    this.finish({ code: grpc.status.UNAVAILABLE, details, metadata: {} });
    super.emit('cancelled');
    super.emit('close');
  }

  /**
   * @internal the client cancelled it or the stream went away (`byClient`: the client went away, not the node):
   * nothing more is sent.
   */
  gone(byClient: boolean): void {
    if (this.done) return;
    this.done = true;
    this.cancelledByClient = byClient;
    this.forgetHeld();
    super.emit('cancelled');
    super.emit('close');
  }

  private finish(status: ChannelStatus): void {
    if (this.done) return;
    this.done = true;
    this.mux.sendStatus(this.channel, status);
  }
}

/** Serves one Sessions call: routes each channel's events to its handler, batches what the handlers send. */
export class SessionMux {
  private readonly channels = new Map<number, MuxChannelCall>();
  /** Channel numbers only grow: a frame for a number at or below this that is not open belongs to an ended channel. */
  private highestChannel = 0;
  private readonly outgoing: ChannelOutbox<ServerChannelEvent>;
  private clientDone = false;
  private closed = false;

  /** `limits` bounds the batches and each channel's queue (defaults: util/channel-outbox.ts). */
  constructor(
    private readonly call: SessionsCall,
    readonly codec: ChannelFrameCodec,
    private readonly onChannel: (channel: MuxChannelCall) => void,
    limits: Pick<ChannelOutboxOptions<never>, 'maxBatchBytes' | 'channelHighWaterBytes' | 'channelLimitBytes'> = {},
  ) {
    this.outgoing = new ChannelOutbox<ServerChannelEvent>({
      ...limits,
      sizeOf: encodedSizeOf,
      writeBatch: (events) => this.call.write(encodeServerBatch(events)),
      onChannelDrain: (channel) => this.channels.get(channel)?.drained(),
    });
    call.on('data', (bytes: Buffer) => this.receive(bytes));
    call.on('drain', () => this.outgoing.drained());
    call.on('end', () => this.clientEnded());
    // Unless this node ended the stream first, its end is the client's: it went away (a crash closes its socket).
    for (const event of ['error', 'close', 'cancelled']) call.on(event, () => this.gone(!this.closed));
  }

  /** Open channels. */
  get size(): number {
    return this.channels.size;
  }

  /** Bytes queued for the client and not yet written (bounded by the channels' limits). */
  get queuedBytes(): number {
    return this.outgoing.queuedBytes;
  }

  /** @internal queues one frame of `channel`; false when the channel should wait for its 'drain'. */
  sendFrame(channel: number, frame: unknown): boolean {
    if (this.closed) return false;
    const result = this.outgoing.push(channel, { channel, kind: 'frame', bytes: this.codec.encodeServerFrame(frame) });
    if (result === 'refused') {
      const limit = this.outgoing.channelLimitBytes;
      this.channels
        .get(channel)
        ?.overflowed(`the server queued more than ${limit} bytes for this session unsent; resume the session`);
    }
    return result === 'queued';
  }

  /** @internal queues the end of `channel`; the stream ends once the client is done and no channel is left. */
  sendStatus(channel: number, status: ChannelStatus): void {
    this.channels.delete(channel);
    if (!this.closed) this.outgoing.pushFinal(channel, { channel, kind: 'status', status });
    if (this.clientDone && this.channels.size === 0) this.close();
  }

  /** Sends what is queued and ends the stream (the node is closing, after its channels were told where to go). */
  close(): void {
    if (this.closed) return;
    this.outgoing.flushAll();
    this.closed = true;
    this.call.end();
  }

  private receive(bytes: Buffer): void {
    if (this.closed) return;
    let events: ReturnType<typeof decodeClientBatch>;
    try {
      events = decodeClientBatch(bytes);
    } catch (error) {
      this.refuse((error as Error).message);
      return;
    }
    for (const event of events) {
      let channel = this.channels.get(event.channel);
      if (channel === undefined) {
        // A late event of an ended channel is dropped; a new number opens a channel (its first event is a frame).
        if (event.channel <= this.highestChannel || event.kind !== 'frame') continue;
        this.highestChannel = event.channel;
        channel = new MuxChannelCall(this, event.channel);
        this.channels.set(event.channel, channel);
        this.onChannel(channel);
      }
      if (event.kind === 'cancel') {
        this.channels.delete(event.channel);
        this.outgoing.drop(event.channel);
        channel.gone(true);
      } else channel.received(event, this.outgoing.channelLimitBytes);
    }
  }

  private clientEnded(): void {
    this.clientDone = true;
    // After what each channel holds while paused, as its own half-close would come.
    for (const channel of [...this.channels.values()])
      channel.received({ channel: channel.channel, kind: 'half-close' }, this.outgoing.channelLimitBytes);
    if (this.channels.size === 0) this.close();
  }

  /** A batch that does not decode ends the whole stream: its channels cannot be told apart any more. */
  private refuse(details: string): void {
    this.gone(false);
    this.closed = true;
    this.call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details });
  }

  private gone(byClient: boolean): void {
    const channels = [...this.channels.values()];
    this.channels.clear();
    this.outgoing.clear();
    this.closed = true;
    for (const channel of channels) channel.gone(byClient);
  }
}
