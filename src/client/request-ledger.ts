// The requests of one session that await an answer, by request_seq: which seq the next request gets, which are sent
// again (with the SAME seq, so the leader applies each once: Raft thesis §6.3) when the session's stream is resumed,
// and which no longer are (a cancelled acquire waiting for its fate). Pure bookkeeping: no timers, no I/O. The SDK's
// SessionConnection keeps its requests here, and so do the lock simulator's clients (docs/design.md, "Simulation").

/** One request awaiting its answer. */
interface LedgerEntry<R> {
  readonly request: R;
  /** False once the request must not be sent again (stopResending), until resendRequest. */
  resend: boolean;
}

/** The unanswered requests of a session, and the seqs they were given. */
export class RequestLedger<R> {
  private nextSeq = 1;
  private readonly pending = new Map<number, LedgerEntry<R>>();

  /** The request_seq of the next request (1, 2, ...): every request gets one, even one refused at once. */
  allocate(): number {
    return this.nextSeq++;
  }

  /** Records `request`, sent under `seq`, as awaiting its answer (and sent again on every resume). */
  add(seq: number, request: R): void {
    this.pending.set(seq, { request, resend: true });
  }

  /** The request awaiting an answer under `seq` (undefined: answered, forgotten, or never sent). */
  get(seq: number): R | undefined {
    return this.pending.get(seq)?.request;
  }

  /** Whether `request` still awaits an answer under `seq` and is to be sent again (a retry timer's check). */
  resendable(seq: number, request: R): boolean {
    const entry = this.pending.get(seq);
    return entry !== undefined && entry.request === request && entry.resend;
  }

  /** Stops sending request `seq` again on resumes; its answers are still routed to it. */
  stopResending(seq: number): void {
    const entry = this.pending.get(seq);
    if (entry) entry.resend = false;
  }

  /** Request `seq` is to be sent again: returns it, to be sent now (undefined: nothing awaits under `seq`). */
  resendRequest(seq: number): R | undefined {
    const entry = this.pending.get(seq);
    if (!entry) return undefined;
    entry.resend = true;
    return entry.request;
  }

  /** Request `seq` needs nothing more: answered for good, or given up by its owner. */
  forget(seq: number): void {
    this.pending.delete(seq);
  }

  /** What a resumed stream sends again: every request still to be resent, in seq order (the order they were made). */
  toResendOnResume(): R[] {
    return [...this.pending.entries()]
      .filter(([, entry]) => entry.resend)
      .sort(([a], [b]) => a - b)
      .map(([, entry]) => entry.request);
  }

  /** The session ended: every request awaiting an answer, in seq order, now forgotten (each is told why). */
  drain(): R[] {
    const requests = [...this.pending.entries()].sort(([a], [b]) => a - b).map(([, entry]) => entry.request);
    this.pending.clear();
    return requests;
  }

  /** How many requests await an answer. */
  get size(): number {
    return this.pending.size;
  }
}
