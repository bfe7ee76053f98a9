// ARIMA forecasts through the `arima` package (a WebAssembly port of ctsa), for per-resource series and at-risk sessions.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type ArimaPackage from 'arima';
import type { ArimaOrder } from './types.js';

/**
 * The package's WebAssembly module prints its optimizer's diagnostics ("Program Exiting as the function value
 * exceeds ...") to stdout through console.log, which would corrupt the output of the commands that use the SPM.
 * So the module is instantiated here as the package's index.js does, with printing silenced.
 */
function loadSilentArima(): typeof ArimaPackage {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('arima'));
  const createModule = require(join(packageDir, 'wasm', 'native-sync.js'));
  const wasmBinary = require(join(packageDir, 'wrapper', 'native.bin.js'));
  const loadArima = require(join(packageDir, 'load.js'));
  const silent = (): void => {};
  return loadArima(createModule({ wasmBinary, print: silent, printErr: silent }));
}

const ARIMA = loadSilentArima();

/** Forecast means and variances, one per step ahead. */
export interface SeriesForecast {
  readonly means: readonly number[];
  readonly variances: readonly number[];
}

/** Shortest series the package accepts for a non-seasonal order (its own guard: d + max(p + q, 10)). */
export function arimaMinLength(order: ArimaOrder): number {
  return order.d + Math.max(order.p + order.q, 10);
}

/**
 * Fits ARIMA(p, d, q) to `series` and forecasts `steps` ahead. Returns null when the series is too short for the
 * order or the fit does not give finite numbers (a flat series, for one), so callers fall back to a simpler model.
 * A fit on 32 points takes tens of microseconds once the module is compiled; the first call compiles it.
 */
export function forecastArima(series: readonly number[], steps: number, order: ArimaOrder): SeriesForecast | null {
  if (series.length < arimaMinLength(order) || steps < 1) return null;
  const model = new ARIMA({ p: order.p, d: order.d, q: order.q, verbose: false });
  try {
    model.train([...series]);
    const [means, errors] = model.predict(steps);
    if (means.length !== steps || !means.every(Number.isFinite) || !errors.every(Number.isFinite)) return null;
    return { means, variances: errors };
  } finally {
    model.destroy();
  }
}
