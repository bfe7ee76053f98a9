// `forelock snapshot save FILE | status FILE [--json] | restore FILE --data DIR --id ID --peers ...`: backups of a
// cluster, as etcdctl snapshot save/status/restore.
import { open, readFile, rename } from 'node:fs/promises';
import type { Command } from 'commander';
import { lockImageWithSessionsEnded, summarizeLockImage } from '../../lock/snapshot-image.js';
import { restoreDataDir } from '../../raft/restore.js';
import { decodeSnapshotFile, type ReadSnapshotFile } from '../../raft/snapshot-file.js';
import { type ClientFlags, runAdmin, runCommand, toJson, withEndpoints } from '../client-options.js';
import { parseMemberSpec } from './members.js';

/** The --json shape of `forelock snapshot status`. */
export interface SnapshotStatusJson {
  readonly formatVersion: number;
  readonly clusterId: string;
  readonly index: number;
  readonly term: number;
  /** The highest fencing token granted before the snapshot, as a decimal string (tokens may exceed 2^53). */
  readonly highestToken: string;
  readonly locks: number;
  readonly sessions: number;
  readonly checksumOk: boolean;
}

/** What `snapshot status` reports of a decoded file. */
export function snapshotStatus(file: ReadSnapshotFile): SnapshotStatusJson {
  const summary = summarizeLockImage(file.data);
  return {
    formatVersion: file.formatVersion,
    clusterId: file.clusterId,
    index: file.index,
    term: file.term,
    highestToken: summary.highestToken.toString(),
    locks: summary.locks,
    sessions: summary.sessions,
    checksumOk: file.checksumOk,
  };
}

async function readSnapshot(path: string): Promise<ReadSnapshotFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new RangeError(`cannot read snapshot file ${path}: ${(error as Error).message}`);
  }
  return decodeSnapshotFile(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/** Writes `bytes` to `path` durably and atomically: a reader never sees half a snapshot. */
async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const temp = `${path}.part`;
  const file = await open(temp, 'w');
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
}

/** Parses `--peers id=host:port,...` (the restored cluster's members). */
function peersFlag(text: string): Record<string, string> {
  const peers: Record<string, string> = {};
  for (const item of text.split(',').filter((part) => part.trim() !== '')) {
    const { id, address } = parseMemberSpec(item.trim());
    if (peers[id] !== undefined) throw new RangeError(`--peers names ${id} twice`);
    peers[id] = address;
  }
  if (Object.keys(peers).length === 0) throw new RangeError('--peers must list the new cluster, id=host:port,...');
  return peers;
}

/** Registers `forelock snapshot`. */
export function registerSnapshotCommand(program: Command): void {
  const snapshot = program.command('snapshot').description('back up a cluster, check a backup, restore one');
  withEndpoints(snapshot.command('save'))
    .description("save the cluster's state (a linearizable read on the leader) to FILE, with a checksum")
    .argument('<file>', 'the snapshot file to write')
    .action((path: string, flags: ClientFlags) =>
      runAdmin(flags, async (admin) => {
        const bytes = await admin.snapshot();
        const file = decodeSnapshotFile(bytes, 'the snapshot received');
        if (!file.checksumOk) throw new RangeError('the snapshot received does not match its checksum; save again');
        await writeDurably(path, bytes);
        const status = snapshotStatus(file);
        process.stdout.write(
          `saved ${path}: cluster ${status.clusterId}, index ${status.index}, term ${status.term}, highest token ${status.highestToken}, ${status.locks} locks, ${status.sessions} sessions, ${bytes.length} bytes, sha256 ${file.checksum}\n`,
        );
      }),
    );
  snapshot
    .command('status')
    .description('verify a snapshot file and say what it holds (exit 1 when its checksum does not match)')
    .argument('<file>', 'the snapshot file')
    .option(
      '--json',
      'print JSON: {"formatVersion","clusterId","index","term","highestToken","locks","sessions","checksumOk"}',
    )
    .action((path: string, flags: { json?: boolean }) =>
      runCommand(async () => {
        const status = snapshotStatus(await readSnapshot(path));
        process.stdout.write(
          flags.json
            ? `${toJson(status)}\n`
            : `${path}: format ${status.formatVersion}, cluster ${status.clusterId}, index ${status.index}, term ${status.term}, highest token ${status.highestToken}, ${status.locks} locks, ${status.sessions} sessions, checksum ${status.checksumOk ? 'ok' : 'MISMATCH'}\n`,
        );
        if (!status.checksumOk) process.exitCode = 1;
      }),
    );
  snapshot
    .command('restore')
    .description(
      "prepare one member's data directory of a new cluster from FILE; run it once per member with the same --peers",
    )
    .argument('<file>', 'the snapshot file')
    .requiredOption('--data <dir>', "the new member's data directory (missing or empty)")
    .requiredOption('--id <id>', "the new member's id")
    .requiredOption('--peers <id=host:port,...>', "the new cluster's members, this one included")
    .option('--cluster-token <token>', 'the --cluster-token the new members will be started with')
    .action((path: string, flags: { data: string; id: string; peers: string; clusterToken?: string }) =>
      runCommand(async () => {
        const file = await readSnapshot(path);
        const identity = await restoreDataDir({
          file,
          fileName: path,
          dataDir: flags.data,
          memberId: flags.id,
          peers: peersFlag(flags.peers),
          ...(flags.clusterToken === undefined ? {} : { clusterToken: flags.clusterToken }),
          image: lockImageWithSessionsEnded(file.data),
        });
        process.stdout.write(
          `restored ${path} (index ${file.index}, term ${file.term}) into ${flags.data} as ${flags.id} of new cluster ${identity.clusterId}; start it with forelock serve --id ${flags.id} --data ${flags.data} --peers ${flags.peers}${flags.clusterToken === undefined ? '' : ' and the same --cluster-token'}\n`,
        );
      }),
    );
}
