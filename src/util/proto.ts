// Loads the project's .proto files (client, admin and peer APIs) once, with one set of loader options.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The loader options every module uses: 64-bit integers as decimal strings, enums as their names. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The folder holding the .proto files, found from this module whether run from src/ (tsx) or dist/src/. */
export function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'forelock.proto'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('cannot find the proto/ folder next to the forelock package');
}

const cache = new Map<string, grpc.GrpcObject>();

/** Loads `proto/<file>` (e.g. "forelock.proto") as a gRPC package definition, once per process. */
export function loadProto(file: string): grpc.GrpcObject {
  let loaded = cache.get(file);
  if (!loaded) {
    const definition = protoLoader.loadSync(join(protoDir(), file), PROTO_LOADER_OPTIONS);
    loaded = grpc.loadPackageDefinition(definition);
    cache.set(file, loaded);
  }
  return loaded;
}

/** Client and admin service definitions of proto/forelock.proto. */
export function forelockServices(): {
  Forelock: grpc.ServiceClientConstructor;
  Admin: grpc.ServiceClientConstructor;
} {
  const pkg = loadProto('forelock.proto') as unknown as {
    forelock: { v1: { Forelock: grpc.ServiceClientConstructor; Admin: grpc.ServiceClientConstructor } };
  };
  return { Forelock: pkg.forelock.v1.Forelock, Admin: pkg.forelock.v1.Admin };
}
