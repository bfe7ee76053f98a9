// The clients the conformance suite (test/integration/client-conformance.test.ts) runs its scenarios against, behind
// one small interface: the TypeScript SDK in this process, and the Python example client (examples/python/) in a
// python3 process. Both answer every Staleness Warning with ACK and honour every Pre-emption Request by releasing.
import { type Client, connect, type Lock } from '../../src/index.js';
import { DriverRefusal, PythonClient } from './python-client.js';

/** A client failure as the scenarios compare it: the stable Forelock code only. */
export class ClientRefusal extends Error {
  constructor(readonly code: string) {
    super(`refused with ${code}`);
  }
}

/** What a scenario does with a client. */
export interface ConformanceClient {
  /** Opens a session on `endpoints` (resolves once a server answered the open). */
  connect(endpoints: readonly string[]): Promise<void>;
  /** Acquires `name` (fenced, waiting up to 10 s); its fencing token as a decimal string, or a ClientRefusal. */
  acquire(name: string): Promise<string>;
  /** Releases a held lock. */
  release(name: string): Promise<void>;
  /** The locks held now: name -> token. */
  held(): Promise<Record<string, string>>;
  /** The endpoint the session's stream is on. */
  connectedTo(): Promise<string | null>;
  /** Closes the session (resolves once the server ended it). */
  close(): Promise<void>;
  /** Frees whatever the client still holds (process, channels). */
  dispose(): Promise<void>;
}

/** The TypeScript SDK. */
export class SdkConformanceClient implements ConformanceClient {
  private client: Client | null = null;
  private readonly locks = new Map<string, Lock>();

  async connect(endpoints: readonly string[]): Promise<void> {
    this.client = await connect({ endpoints, name: 'conformance-sdk', backoff: { initialMs: 10, maxMs: 50 } });
  }

  async acquire(name: string): Promise<string> {
    const lock = await this.sdk()
      .acquire(name, {
        waitMs: 10_000,
        fenced: true,
        onWarning: () => 'ack',
        onPreemptionRequest: () => void this.release(name),
      })
      .catch((error: { code?: string }) => {
        throw new ClientRefusal(String(error.code));
      });
    this.locks.set(name, lock);
    return String(lock.token);
  }

  async release(name: string): Promise<void> {
    const lock = this.locks.get(name);
    if (lock === undefined) throw new ClientRefusal('NOT_HELD');
    this.locks.delete(name);
    await lock.release();
  }

  async held(): Promise<Record<string, string>> {
    return Object.fromEntries(
      this.sdk()
        .locks()
        .filter((lock) => lock.held)
        .map((lock) => [lock.name, String(lock.token)]),
    );
  }

  async connectedTo(): Promise<string | null> {
    return this.sdk().session.connectedTo;
  }

  async close(): Promise<void> {
    await this.sdk().close();
  }

  async dispose(): Promise<void> {
    await this.client?.close();
  }

  private sdk(): Client {
    if (this.client === null) throw new Error('connect() first');
    return this.client;
  }
}

/** The Python example client, through examples/python/driver.py. */
export class PythonConformanceClient implements ConformanceClient {
  private readonly driver: PythonClient;

  constructor(python: string) {
    this.driver = new PythonClient(python);
  }

  async connect(endpoints: readonly string[]): Promise<void> {
    await this.driver.ready();
    await this.call('connect', {
      endpoints,
      name: 'conformance-python',
      warning_answer: 'ACK',
      honour_preemption: true,
    });
  }

  async acquire(name: string): Promise<string> {
    return String((await this.call('acquire', { name, wait_ms: 10_000, fenced: true })).token);
  }

  async release(name: string): Promise<void> {
    await this.call('release', { name });
  }

  async held(): Promise<Record<string, string>> {
    return (await this.call('state')).held as Record<string, string>;
  }

  async connectedTo(): Promise<string | null> {
    return (await this.call('state')).connected_to as string | null;
  }

  async close(): Promise<void> {
    await this.call('close');
  }

  dispose(): Promise<void> {
    return this.driver.stop();
  }

  private call(op: string, fields: Record<string, unknown> = {}) {
    return this.driver.request(op, fields).catch((error: unknown) => {
      throw error instanceof DriverRefusal ? new ClientRefusal(error.code) : error;
    });
  }
}
