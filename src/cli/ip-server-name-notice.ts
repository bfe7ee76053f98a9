// The CLI drops node's DEP0123 notice only. grpc-js sets the TLS server name to the address it dials, and the
// --endpoints of forelock's commands are usually IP addresses, so every TLS command would print a deprecation
// warning its user can do nothing about. Every other warning passes through.

/** Makes process.emitWarning ignore DEP0123 ("Setting the TLS ServerName to an IP address"). */
export function dropIpServerNameNotice(): void {
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const [typeOrOptions, code] = rest;
    const options =
      typeof typeOrOptions === 'object' && typeOrOptions !== null ? (typeOrOptions as { code?: unknown }) : null;
    if ((options?.code ?? code) === 'DEP0123') return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}
