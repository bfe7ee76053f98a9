// What the SDK does when it stops waiting for an acquire (its wait ran out, or its signal aborted): the acquire is no
// longer sent again on resumes and a cancel withdraws it; if the cancel withdrew it, it is forgotten, and if it was
// not (the grant came first: ALREADY_HELD), the acquire is asked again with its own request_seq so that its grant is
// answered, and a grant that reaches a caller who gave up is handed straight back. Pure: the SDK's Client and the lock
// simulator's clients both follow it (docs/design.md, "Simulation").

/** The request bookkeeping a give-up acts on (a RequestLedger, or the connection that keeps one). */
export interface GivenUpRequests {
  stopResending(seq: number): void;
  resendRequest(seq: number): void;
  forget(seq: number): void;
}

/** What became of an acquire given up, once its cancel was answered. */
export type GiveUpOutcome = 'withdrawn' | 'asked-again';

/**
 * Gives up the acquire sent as `acquireSeq`: it stops being resent; send the cancel next. Returns what to call with
 * whether the cancel withdrew it (answered done): the acquire is then forgotten, or asked again.
 */
export function giveUpAcquire(requests: GivenUpRequests, acquireSeq: number): (withdrawn: boolean) => GiveUpOutcome {
  requests.stopResending(acquireSeq);
  return (withdrawn) => {
    if (withdrawn) {
      requests.forget(acquireSeq);
      return 'withdrawn';
    }
    requests.resendRequest(acquireSeq);
    return 'asked-again';
  };
}

/** What to do with a grant: keep it while the caller still waits, else release it at once. */
export function grantFate(callerWaiting: boolean): 'adopt' | 'hand-back' {
  return callerWaiting ? 'adopt' : 'hand-back';
}
