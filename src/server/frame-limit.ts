// A per-service request size limit: the one grpc.Server also carries large Raft frames, so the client and admin
// services check each request's encoded size themselves and never decode an oversized one.
import type * as grpc from '@grpc/grpc-js';
import { MessageTooLargeError } from './errors.js';

/** Stands in for a request whose encoded size exceeded the limit; handlers refuse it with RESOURCE_EXHAUSTED. */
export class OversizedRequest {
  constructor(readonly error: MessageTooLargeError) {}
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
      requestDeserialize: (bytes: Buffer) =>
        bytes.length > maxBytes
          ? new OversizedRequest(new MessageTooLargeError(bytes.length, maxBytes))
          : method.requestDeserialize(bytes),
    };
  }
  return limited;
}
