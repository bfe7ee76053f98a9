// One Sessions call on the server: many session streams on one gRPC stream. Each channel is handed to its own handler
// as a call of its own (the events and methods of a grpc-js server duplex call), and the frames sent in one event-loop
// turn leave as one ServerBatch (proto/forelock/v1/forelock.proto).
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import {
  type ChannelStatus,
  decodeClientBatch,
  encodeServerBatch,
  type ServerChannelEvent,
} from '../util/session-mux-codec.js';
import { TurnBatcher } from '../util/turn-batcher.js';

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
 * 'cancelled' and 'close' (the client or the stream went away); `write`, `end()`, and `emit('error', status)` to end
 * it with a status, as on a grpc-js server call.
 */
export class MuxChannelCall extends EventEmitter {
  private done = false;

  constructor(
    private readonly mux: SessionMux,
    readonly channel: number,
  ) {
    super();
  }

  write(frame: unknown): boolean {
    if (!this.done) this.mux.sendFrame(this.channel, frame);
    return true;
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

  /** @internal the client cancelled it or the stream went away: nothing more is sent. */
  gone(): void {
    if (this.done) return;
    this.done = true;
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
  private readonly outgoing = new TurnBatcher<ServerChannelEvent>(sizeOfEvent, (events) =>
    this.call.write(encodeServerBatch(events)),
  );
  private clientDone = false;
  private closed = false;

  constructor(
    private readonly call: SessionsCall,
    private readonly codec: ChannelFrameCodec,
    private readonly onChannel: (channel: MuxChannelCall) => void,
  ) {
    call.on('data', (bytes: Buffer) => this.receive(bytes));
    call.on('end', () => this.clientEnded());
    for (const event of ['error', 'close', 'cancelled']) call.on(event, () => this.gone());
  }

  /** Open channels. */
  get size(): number {
    return this.channels.size;
  }

  /** @internal queues one frame of `channel`. */
  sendFrame(channel: number, frame: unknown): void {
    this.queue({ channel, kind: 'frame', bytes: this.codec.encodeServerFrame(frame) });
  }

  /** @internal queues the end of `channel`; the stream ends once the client is done and no channel is left. */
  sendStatus(channel: number, status: ChannelStatus): void {
    this.channels.delete(channel);
    this.queue({ channel, kind: 'status', status });
    if (this.clientDone && this.channels.size === 0) this.close();
  }

  /** Sends what is queued and ends the stream (the node is closing, after its channels were told where to go). */
  close(): void {
    if (this.closed) return;
    this.outgoing.flush();
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
      if (event.kind === 'frame') {
        let frame: unknown;
        try {
          frame = this.codec.decodeClientFrame(
            Buffer.from(event.bytes.buffer, event.bytes.byteOffset, event.bytes.length),
          );
        } catch {
          // As grpc-js answers a Session call whose request does not decode.
          channel.emit('error', { code: grpc.status.INTERNAL, details: 'Error deserializing request' });
          continue;
        }
        channel.emit('data', frame);
      } else if (event.kind === 'half-close') {
        channel.emit('end');
      } else {
        this.channels.delete(event.channel);
        channel.gone();
      }
    }
  }

  private clientEnded(): void {
    this.clientDone = true;
    for (const channel of [...this.channels.values()]) channel.emit('end');
    if (this.channels.size === 0) this.close();
  }

  /** A batch that does not decode ends the whole stream: its channels cannot be told apart any more. */
  private refuse(details: string): void {
    this.gone();
    this.closed = true;
    this.call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details });
  }

  private gone(): void {
    const channels = [...this.channels.values()];
    this.channels.clear();
    this.outgoing.clear();
    this.closed = true;
    for (const channel of channels) channel.gone();
  }

  private queue(event: ServerChannelEvent): void {
    if (!this.closed) this.outgoing.push(event);
  }
}

/** About how many bytes an event adds to its batch. */
function sizeOfEvent(event: ServerChannelEvent): number {
  return event.kind === 'frame' ? event.bytes.length : 64;
}
