// A gRPC call whose buffer is full after every write: nothing more is written until the test emits 'drain' (one
// drain is one step of virtual time). It decodes what is written, one batch per write.
import { EventEmitter } from 'node:events';

export class FullCall<Event> extends EventEmitter {
  readonly batches: Event[][] = [];
  constructor(private readonly decode: (bytes: Buffer) => Event[]) {
    super();
  }
  write(bytes: Buffer): boolean {
    this.batches.push(this.decode(bytes));
    return false;
  }
  end(): void {}
  cancel(): void {}
}
