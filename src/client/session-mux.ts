// The sessions of this process that talk to one endpoint share one Sessions stream: each session stream is a channel
// of it, and the frames written in one event-loop turn leave as one ClientBatch (proto/forelock/v1/forelock.proto), so a process
// with many sessions (a worker pool, a benchmark) pays gRPC's per-message cost once per turn rather than per frame.
// Flow control: the channels take turns in each batch, nothing is written while the call's buffer is full until it
// drains, and each channel's queue is bounded (util/channel-outbox.ts).
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { ChannelOutbox, type ChannelOutboxOptions } from '../util/channel-outbox.js';
import {
  type ChannelStatus,
  type ClientChannelEvent,
  decodeServerBatch,
  encodeClientBatch,
  encodedSizeOf,
} from '../util/session-mux-codec.js';
import type { ClientFrame, ForelockStub, SessionFrameCodec, SessionStream } from './wire.js';

/** A gRPC status as the error a Session call fails with (code, details, trailing metadata). */
function serviceErrorOf(status: ChannelStatus): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(status.metadata)) metadata.set(key, value);
  const name = grpc.status[status.code] ?? String(status.code);
  return Object.assign(new Error(`${status.code} ${name}: ${status.details}`), {
    code: status.code,
    details: status.details,
    metadata,
  });
}

/**
 * One session stream carried as a channel of a Sessions stream. write() answers false when the channel's queue is at
 * its high-water mark, and 'drain' follows when it is below again; a channel written past its queue's limit fails
 * with UNAVAILABLE (the SDK resumes the session and re-sends what it had pending).
 */
class MuxSessionStream extends EventEmitter implements SessionStream {
  private done = false;
  private halfClosed = false;

  constructor(
    private readonly mux: SessionMuxClient,
    readonly channel: number,
  ) {
    super();
  }

  write(frame: ClientFrame): boolean {
    if (this.done || this.halfClosed) return false;
    return this.mux.sendFrame(this.channel, frame);
  }

  end(): void {
    if (this.done || this.halfClosed) return;
    this.halfClosed = true;
    this.mux.sendFinal({ channel: this.channel, kind: 'half-close' });
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.mux.cancel(this.channel);
    this.emit('close');
  }

  /** @internal a frame of this channel arrived. */
  deliver(bytes: Buffer): void {
    if (this.done) return;
    let frame: unknown;
    try {
      frame = this.mux.codec.decodeServerFrame(bytes);
    } catch (error) {
      this.mux.cancel(this.channel);
      this.failed(
        serviceErrorOf({
          code: grpc.status.INTERNAL,
          details: `Failed to parse server response: ${(error as Error).message}`,
          metadata: {},
        }),
      );
      return;
    }
    this.emit('data', frame);
  }

  /** @internal its queue went below the high-water mark. */
  drained(): void {
    if (!this.done) this.emit('drain');
  }

  /** @internal the channel ended with `status`: 'end' when OK, else 'error'; then 'close'. */
  finished(status: ChannelStatus): void {
    if (status.code === grpc.status.OK) {
      if (this.done) return;
      this.done = true;
      this.emit('end');
      this.emit('close');
    } else this.failed(serviceErrorOf(status));
  }

  /** @internal the channel (or its whole stream) failed. */
  failed(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.emit('error', error);
    this.emit('close');
  }
}

/** The Sessions stream of this process to one endpoint, opened on first use and again after it fails. */
export class SessionMuxClient {
  private call: grpc.ClientDuplexStream<Buffer, Buffer> | null = null;
  private readonly channels = new Map<number, MuxSessionStream>();
  private nextChannel = 1;
  private readonly outgoing: ChannelOutbox<ClientChannelEvent>;
  /** The endpoint answered Sessions with UNIMPLEMENTED (an older server): use one Session call per session. */
  private unsupported = false;

  /**
   * `limits` bounds the batches and each channel's queue (defaults: util/channel-outbox.ts); `metadata` is what each
   * Sessions call carries when it starts (the caller's credentials: every channel is authenticated by them).
   */
  constructor(
    private readonly stub: ForelockStub,
    readonly codec: SessionFrameCodec,
    limits: Pick<ChannelOutboxOptions<never>, 'maxBatchBytes' | 'channelHighWaterBytes' | 'channelLimitBytes'> = {},
    private readonly metadata: () => grpc.Metadata = () => new grpc.Metadata(),
  ) {
    this.outgoing = new ChannelOutbox<ClientChannelEvent>({
      ...limits,
      sizeOf: encodedSizeOf,
      // No call: the stream failed and its channels with it; what they had queued is dropped with them.
      writeBatch: (events) => this.call?.write(encodeClientBatch(events)) ?? true,
      onChannelDrain: (channel) => this.channels.get(channel)?.drained(),
    });
  }

  /** Bytes queued for the server and not yet written (bounded by the channels' limits). */
  get queuedBytes(): number {
    return this.outgoing.queuedBytes;
  }

  /** Whether no channel is open on it. */
  get idle(): boolean {
    return this.channels.size === 0;
  }

  /** Whether the endpoint serves Sessions (as far as is known: true until it says it does not). */
  get supported(): boolean {
    return !this.unsupported;
  }

  /** A new session stream as a channel of the shared stream (opening the stream if none is open). */
  open(): SessionStream {
    if (this.call === null) this.startCall();
    const stream = new MuxSessionStream(this, this.nextChannel++);
    this.channels.set(stream.channel, stream);
    return stream;
  }

  /** Ends the shared stream; channels still open fail as a cancelled call would. */
  close(): void {
    const call = this.call;
    if (call === null) return;
    this.ended(call, serviceErrorOf({ code: grpc.status.CANCELLED, details: 'the client closed', metadata: {} }));
    call.cancel();
  }

  /** @internal queues one frame of `channel`; false when the channel should wait for its 'drain'. */
  sendFrame(channel: number, frame: ClientFrame): boolean {
    if (this.call === null) return false;
    const result = this.outgoing.push(channel, { channel, kind: 'frame', bytes: this.codec.encodeClientFrame(frame) });
    if (result === 'refused') {
      const stream = this.channels.get(channel);
      this.cancel(channel);
      stream?.failed(
        serviceErrorOf({
          code: grpc.status.UNAVAILABLE,
          details: `this session queued more than ${this.outgoing.channelLimitBytes} bytes unsent; resume the session`,
          metadata: {},
        }),
      );
    }
    return result === 'queued';
  }

  /** @internal queues a channel's last event (its half-close or cancel) whatever its queue holds. */
  sendFinal(event: ClientChannelEvent): void {
    if (this.call !== null) this.outgoing.pushFinal(event.channel, event);
  }

  /** @internal forgets `channel` and tells the server it was abandoned (what it had queued is not sent). */
  cancel(channel: number): void {
    if (!this.channels.delete(channel)) return;
    this.outgoing.drop(channel);
    this.sendFinal({ channel, kind: 'cancel' });
  }

  private startCall(): void {
    const call = this.stub.Sessions(this.metadata());
    this.call = call;
    call.on('data', (bytes: Buffer) => this.receive(call, bytes));
    call.on('drain', () => {
      if (this.call === call) this.outgoing.drained();
    });
    call.on('error', (error: grpc.ServiceError) => this.ended(call, error));
    call.on('end', () =>
      this.ended(
        call,
        serviceErrorOf({
          code: grpc.status.UNAVAILABLE,
          details: 'the server ended the Sessions stream',
          metadata: {},
        }),
      ),
    );
  }

  private receive(call: grpc.ClientDuplexStream<Buffer, Buffer>, bytes: Buffer): void {
    if (this.call !== call) return;
    let events: ReturnType<typeof decodeServerBatch>;
    try {
      events = decodeServerBatch(bytes);
    } catch (error) {
      this.ended(call, serviceErrorOf({ code: grpc.status.INTERNAL, details: (error as Error).message, metadata: {} }));
      call.cancel();
      return;
    }
    for (const event of events) {
      const stream = this.channels.get(event.channel);
      if (stream === undefined) continue;
      if (event.kind === 'frame')
        stream.deliver(Buffer.from(event.bytes.buffer, event.bytes.byteOffset, event.bytes.length));
      else {
        this.channels.delete(event.channel);
        this.outgoing.drop(event.channel);
        stream.finished(event.status);
      }
    }
  }

  /** The shared stream is gone: every channel fails with `error`, and the next open starts a new stream. */
  private ended(call: grpc.ClientDuplexStream<Buffer, Buffer>, error: grpc.ServiceError): void {
    if (this.call !== call) return;
    this.call = null;
    this.outgoing.clear();
    let failure = error;
    if (error.code === grpc.status.UNIMPLEMENTED) {
      // An older server: its sessions are retried on streams of their own (retriable, so the SDK reconnects at once).
      this.unsupported = true;
      failure = serviceErrorOf({
        code: grpc.status.UNAVAILABLE,
        details: `${error.details}; retrying with one stream per session`,
        metadata: {},
      });
    }
    const streams = [...this.channels.values()];
    this.channels.clear();
    for (const stream of streams) stream.failed(failure);
  }
}
