// The standard normal distribution's tails, which the SPM's probabilities are built from.

/** P(Z > x) for x >= 0: Hart's double-precision algorithm as given by G. West (2005), accurate far into the tail. */
function upperTailNonNegative(x: number): number {
  if (x > 37) return 0;
  const e = Math.exp((-x * x) / 2);
  if (x < 7.07106781186547) {
    let n = 0.0352624965998911 * x + 0.700383064443688;
    n = n * x + 6.37396220353165;
    n = n * x + 33.912866078383;
    n = n * x + 112.079291497871;
    n = n * x + 221.213596169931;
    n = n * x + 220.206867912376;
    let d = 0.0883883476483184 * x + 1.75566716318264;
    d = d * x + 16.064177579207;
    d = d * x + 86.7807322029461;
    d = d * x + 296.564248779674;
    d = d * x + 637.333633378831;
    d = d * x + 793.826512519948;
    d = d * x + 440.413735824752;
    return (e * n) / d;
  }
  const d = x + 1 / (x + 2 / (x + 3 / (x + 4 / (x + 0.65))));
  return e / d / 2.506628274631;
}

/** P(Z > z) for a standard normal Z; keeps its precision for small tails (z up to 37). */
export function normalUpperTail(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return z >= 0 ? upperTailNonNegative(z) : 1 - upperTailNonNegative(-z);
}

/** P(Z <= z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return 1 - normalUpperTail(z);
}

/** P(X > x) for X ~ Normal(mean, stdDev); a zero stdDev makes it a step. */
export function normalSurvival(x: number, mean: number, stdDev: number): number {
  if (stdDev <= 0) return x < mean ? 1 : 0;
  return normalUpperTail((x - mean) / stdDev);
}

/** `value` limited to [0, 1]; NaN counts as 0. */
export function clamp01(value: number): number {
  if (!(value > 0)) return 0;
  return Math.min(value, 1);
}
