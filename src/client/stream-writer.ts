// Writes one session stream's frames as fast as the stream takes them. Once its write() answers false (its buffer is
// full: a gRPC call's, or this session's queue on the shared Sessions stream, client/session-mux.ts), later frames
// wait here, in order, and leave on its 'drain', so a session that writes a lot stops growing the buffers below it
// (docs/design.md, flow control on the shared stream). What waits is bounded by what the session owes anyway: a
// request's frame waits at most once however often it is re-sent (its pending request holds it in any case), and a
// keepalive never waits (it would leave with a stale send time): the connection asks `full` first and sends a fresh
// one when `onWritable` says the stream drained.
import type { ClientFrame, SessionStream } from './wire.js';

/** The frames of one session stream, written now or after the stream's next 'drain'. */
export class StreamWriter {
  /** Frames waiting for the stream to drain, in order; a Set, so a frame re-sent while it waits is queued once. */
  private readonly waiting = new Set<ClientFrame>();
  private streamFull = false;

  /** `onWritable` hears that the stream drained and every waiting frame was written. */
  constructor(
    private readonly stream: SessionStream,
    private readonly onWritable: () => void,
  ) {
    stream.on('drain', () => this.drained());
  }

  /** Whether the stream's last write answered false and it has not drained since (frames written now wait). */
  get full(): boolean {
    return this.streamFull;
  }

  /** How many frames wait for the stream to drain. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /** Writes `frame` now, or once the stream drains, after the frames already waiting. */
  write(frame: ClientFrame): void {
    if (this.streamFull) this.waiting.add(frame);
    else if (this.stream.write(frame) === false) this.streamFull = true;
  }

  private drained(): void {
    this.streamFull = false;
    for (const frame of this.waiting) {
      this.waiting.delete(frame);
      if (this.stream.write(frame) === false) {
        this.streamFull = true;
        return;
      }
    }
    this.onWritable();
  }
}
