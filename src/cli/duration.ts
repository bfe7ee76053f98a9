// Durations on the command line: "10s", "500ms", "2m", "1h" (and combinations like "1m30s") to milliseconds.

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses a duration like "10s", "500ms", "2m", "1h", "1m30s" (or a bare "0") into ms; throws a RangeError saying what is wrong. */
export function parseDurationMs(text: string, what = 'duration'): number {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(trimmed) ? trimmed.match(/\d+(?:\.\d+)?(?:ms|s|m|h)/g) : null;
  if (!parts) {
    throw new RangeError(`${what} must be a number with a unit (ms, s, m, h), like 500ms, 10s or 2m; got "${text}"`);
  }
  let totalMs = 0;
  for (const part of parts) {
    const [, amount, unit] = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(part) as RegExpExecArray;
    totalMs += Number(amount) * (UNIT_MS[unit as string] as number);
  }
  return Math.round(totalMs);
}

/** Formats ms for people: "850ms", "12.5s", "3m20s". */
export function formatDurationMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(1))}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1_000);
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
}
