// Following the launcher: `npx forelock ...` runs the bin under `sh -c`, and a SIGTERM to npx kills that shell
// without passing the signal on, which left `forelock lock` (and the command holding the lock) running. A process
// launched by npm whose parent is gone stops as if the signal had reached it. One started otherwise (`nohup forelock
// serve &` from a shell that then exits) is left alone: outliving its parent is what it was asked to do.

/** How often the parent is checked, in ms. */
const PARENT_CHECK_INTERVAL_MS = 250;

/** Whether npm (npx, npm exec, npm run) launched this process: npm sets npm_command in its children's environment. */
export function launchedByNpm(env: Readonly<Record<string, string | undefined>>): boolean {
  return env.npm_command !== undefined && env.npm_command !== '';
}

/**
 * When npm launched this process, sends it SIGTERM once its parent process is gone (it was re-parented), so the
 * usual SIGTERM handling runs: `forelock lock` stops its command, `forelock serve` hands off and closes. Returns a
 * function that stops the watch. The timer does not keep the process alive.
 */
export function stopWithNpmLauncher(
  env: Readonly<Record<string, string | undefined>> = process.env,
  intervalMs = PARENT_CHECK_INTERVAL_MS,
): () => void {
  if (!launchedByNpm(env)) return () => {};
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
