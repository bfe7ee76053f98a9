// Following the launcher: `npx forelock ...` runs the bin under `sh -c`, and a SIGTERM to npx kills that shell
// without passing the signal on, which left `forelock lock` (and the command holding the lock) running. A process
// whose parent is gone stops as if the signal had reached it.

/** How often the parent is checked, in ms. */
const PARENT_CHECK_INTERVAL_MS = 250;

/**
 * Sends this process SIGTERM once its parent process is gone (it was re-parented), so the usual SIGTERM handling
 * runs: `forelock lock` stops its command, `forelock serve` hands off and closes. Returns a function that stops the
 * watch. The timer does not keep the process alive.
 */
export function stopWithParent(intervalMs = PARENT_CHECK_INTERVAL_MS): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
