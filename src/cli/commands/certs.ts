// `forelock certs create`: a cluster CA, node and client certificates for development and tests (src/security).
import { type Command, InvalidArgumentError, Option } from 'commander';
import { createCertificates } from '../../security/certificates.js';
import { runCommand } from '../client-options.js';

/** The flags of `forelock certs create` as commander parses them. */
interface CertsCreateFlags {
  out: string;
  nodes?: string;
  clients?: string;
  san?: string;
  days: number;
  notAfter?: string;
  ca?: string;
}

/** Splits a comma-separated list, dropping empty items. */
function names(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/** Registers `forelock certs create`. */
export function registerCertsCommand(program: Command): void {
  const certs = program.command('certs').description('certificates for development and tests');
  certs
    .command('create')
    .description('write a CA (or use --ca), node certificates (server and peer) and client certificates as PEM files')
    .requiredOption('--out <dir>', 'directory the files are written to: ca.pem, ca-key.pem, NAME.pem, NAME-key.pem')
    .option('--nodes <ids>', 'node ids, comma-separated: valid as server and peer, for 127.0.0.1, localhost and the id')
    .option('--clients <names>', 'client names, comma-separated: the CN is the name (the user name with mutual TLS)')
    .option('--san <names>', 'extra DNS names or IP addresses on every node certificate, comma-separated')
    .addOption(
      new Option('--days <n>', 'validity in days').default(365).argParser((value: string) => {
        const days = Number(value);
        if (!Number.isInteger(days)) throw new InvalidArgumentError(`--days must be an integer, got "${value}"`);
        return days;
      }),
    )
    .option('--not-after <iso-date>', 'end of validity instead of --days (a past date issues an expired certificate)')
    .option('--ca <dir>', 'issue from the CA in this directory (ca.pem, ca-key.pem) instead of creating one')
    .action((flags: CertsCreateFlags) =>
      runCommand(async () => {
        const notAfter = flags.notAfter === undefined ? undefined : new Date(flags.notAfter);
        const files = await createCertificates({
          outDir: flags.out,
          nodes: names(flags.nodes),
          clients: names(flags.clients),
          sans: names(flags.san),
          days: flags.days,
          ...(notAfter === undefined ? {} : { notAfter }),
          ...(flags.ca === undefined ? {} : { caDir: flags.ca }),
        });
        const lines = [
          flags.ca === undefined ? `ca      ${files.ca} (key ${files.caKey})` : `ca      ${files.ca} (existing)`,
          ...files.issued.map((c) => `${c.role.padEnd(7)} ${c.cert} (key ${c.key})`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
