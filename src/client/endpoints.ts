// Leader discovery's endpoint choice (nats.js server pool): rotate over the configured endpoints, dial a leader hint
// from a NotLeader answer first, and move an endpoint that just failed to the back so dead ones are tried last.

/** A "host:port" string; IPv6 hosts in brackets ("[::1]:7400"). */
export type Endpoint = string;

/** Throws a RangeError unless `endpoint` is "host:port" with a port in 1..65535. */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(endpoint.trim());
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || !(port >= 1 && port <= 65535)) {
    throw new RangeError(`endpoint must be host:port with a port in 1..65535, got "${endpoint}"`);
  }
  return { host: match[1] as string, port };
}

/** The endpoints to dial, in order; a hint (the leader's address) jumps the queue once. */
export class EndpointPool {
  private readonly endpoints: Endpoint[];
  private index = -1;
  private hint: Endpoint | null = null;

  constructor(endpoints: readonly Endpoint[]) {
    if (endpoints.length === 0) throw new RangeError('at least one endpoint is needed, got none');
    for (const endpoint of endpoints) parseEndpoint(endpoint);
    this.endpoints = [...new Set(endpoints.map((e) => e.trim()))];
  }

  /** The endpoint to dial next: the pending hint if any, else the next one in rotation. */
  next(): Endpoint {
    if (this.hint !== null) {
      const hinted = this.hint;
      this.hint = null;
      return hinted;
    }
    this.index = (this.index + 1) % this.endpoints.length;
    return this.endpoints[this.index] as Endpoint;
  }

  /** Dial `address` next (a NotLeader answer named the leader); it is also kept for later rotations. */
  hintLeader(address: Endpoint): void {
    parseEndpoint(address);
    this.hint = address;
    if (!this.endpoints.includes(address)) this.endpoints.push(address);
  }

  /**
   * `address` just failed (could not be dialed, refused, or its stream broke): it goes to the back of the rotation,
   * and the rotation continues with the endpoint that followed it.
   */
  failed(address: Endpoint): void {
    const position = this.endpoints.indexOf(address);
    if (position < 0) return;
    this.endpoints.splice(position, 1);
    this.endpoints.push(address);
    if (position <= this.index) this.index--;
  }

  /** How many distinct endpoints are known (the configured ones plus leaders learned from hints). */
  get size(): number {
    return this.endpoints.length;
  }

  /** A copy of the known endpoints. */
  list(): Endpoint[] {
    return [...this.endpoints];
  }
}
