// How the scale benchmark writes its figures: grouped thousands, a dash for what was not measured.

/** `n` with thousands grouped and at most `digits` decimals; '–' when it is not a finite number. */
export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '–';

/** "one node" or "3 nodes". */
export const nodesText = (nodes: number): string => (nodes === 1 ? 'one node' : `${nodes} nodes`);
