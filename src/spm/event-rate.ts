// A rate learned from the cluster's own record (lost keepalives, deaths, stuck holds), starting from a prior.

/**
 * A Beta-style estimate of how often an event happens per trial: the configured prior counts as `priorTrials`
 * trials of evidence, and every observed trial (with or without the event) adds one. A cluster's own record
 * outweighs the prior once it spans more trials than that.
 */
export class EventRate {
  private trials = 0;
  private events = 0;

  constructor(
    private readonly prior: number,
    private readonly priorTrials: number,
  ) {}

  /** One trial, in which the event happened or not. */
  observeTrial(happened: boolean): void {
    this.trials++;
    if (happened) this.events++;
  }

  /** One event outside the counted trials (a death, counted against the intervals already observed). */
  observeEvent(): void {
    this.events++;
  }

  /** The estimated probability of the event per trial. */
  get value(): number {
    return (this.events + this.prior * this.priorTrials) / (this.trials + this.priorTrials);
  }
}
