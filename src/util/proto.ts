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

/** The client and admin API's file under proto/: its path follows its versioned package, forelock.v1. */
export const FORELOCK_PROTO = 'forelock/v1/forelock.proto';

/** The Raft peer service's file under proto/ (package forelock.raft, spoken between nodes only). */
export const RAFT_PROTO = 'forelock/raft/raft.proto';

/** The folder holding the .proto files, found from this module whether run from src/ (tsx) or dist/src/. */
export function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, FORELOCK_PROTO))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('cannot find the proto/ folder next to the forelock package');
}

const cache = new Map<string, grpc.GrpcObject>();

/** Loads `proto/<file>` (e.g. FORELOCK_PROTO) as a gRPC package definition, once per process. */
export function loadProto(file: string): grpc.GrpcObject {
  let loaded = cache.get(file);
  if (!loaded) {
    const definition = protoLoader.loadSync(join(protoDir(), file), PROTO_LOADER_OPTIONS);
    loaded = grpc.loadPackageDefinition(definition);
    cache.set(file, loaded);
  }
  return loaded;
}

/** Client and admin service definitions of proto/forelock/v1/forelock.proto. */
export function forelockServices(): {
  Forelock: grpc.ServiceClientConstructor;
  Admin: grpc.ServiceClientConstructor;
} {
  const pkg = loadProto(FORELOCK_PROTO) as unknown as {
    forelock: { v1: { Forelock: grpc.ServiceClientConstructor; Admin: grpc.ServiceClientConstructor } };
  };
  return { Forelock: pkg.forelock.v1.Forelock, Admin: pkg.forelock.v1.Admin };
}
