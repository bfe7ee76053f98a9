// A token-checking resource for the demo: it accepts a write only with a fencing token at least as high as any seen.

/** The outcome of one write. */
export type FencedWriteResult =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly highestToken: bigint };

/** A store behind a fenced lock: it remembers the highest token it has seen and rejects older holders. */
export class FencedStore {
  private highest = 0n;
  private writes = 0;

  /** Writes with `token`; rejected when a newer holder already wrote. */
  write(token: bigint): FencedWriteResult {
    if (token < this.highest) return { accepted: false, highestToken: this.highest };
    this.highest = token;
    this.writes += 1;
    return { accepted: true };
  }

  /** Accepted writes so far. */
  get acceptedWrites(): number {
    return this.writes;
  }
}
