// A per-service request size limit: the one grpc.Server also carries large Raft frames, so the client and admin
// services check each request's encoded size themselves and never decode an oversized one.
import type * as grpc from '@grpc/grpc-js';
import { MessageTooLargeError } from './errors.js';

/** An oversized frame is still decoded up to this many times the limit, to learn which request it carried: a
 * request can then be refused alone and its session goes on. Beyond it nothing is read (bounded memory). */
const DECODED_UP_TO_LIMITS = 16;

/**
 * Stands in for a request whose encoded size exceeded the limit; handlers refuse it with RESOURCE_EXHAUSTED, or, when
 * `decoded` says which request of a stream it was, refuse that request alone.
 */
export class OversizedRequest {
  constructor(
    readonly error: MessageTooLargeError,
    readonly decoded: unknown = undefined,
  ) {}
}

/**
 * A copy of `service` whose request decoders hand over an OversizedRequest instead of decoding a request larger
 * than `maxBytes` (grpc-js would answer a throwing decoder with INTERNAL, not RESOURCE_EXHAUSTED).
 */
export function limitRequestSize(service: grpc.ServiceDefinition, maxBytes: number): grpc.ServiceDefinition {
  const limited: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service)) {
    limited[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        if (bytes.length <= maxBytes) return method.requestDeserialize(bytes);
        const error = new MessageTooLargeError(bytes.length, maxBytes);
        if (bytes.length > DECODED_UP_TO_LIMITS * maxBytes) return new OversizedRequest(error);
        try {
          return new OversizedRequest(error, method.requestDeserialize(bytes));
        } catch {
          return new OversizedRequest(error);
        }
      },
    };
  }
  return limited;
}
