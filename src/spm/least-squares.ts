// Ordinary least squares with up to four regressors, solved in place: the clock fit's lines and curves.

/** Columns at most: intercept, time, time squared, round trip. */
const MAX_COLUMNS = 4;
/** A pivot this small relative to its column's scale means the regressors are collinear. */
const COLLINEAR = 1e-9;

/** A fit's coefficients, each with its standard error. */
export interface LeastSquaresFit {
  readonly coefficients: Float64Array;
  readonly stdErrors: Float64Array;
  readonly points: number;
}

/**
 * Solves `y = X b` in the least-squares sense over the rows `row(i, x)` fills (x has `columns` entries), skipping rows
 * for which `row` returns NaN as y. The residual variance is never taken below `minVariance` (the readings'
 * resolution). Returns null with fewer rows than columns + 1, or when the columns are collinear. Allocation-free
 * apart from the result: the normal equations live in scratch space.
 */
export class LeastSquares {
  private readonly matrix = new Float64Array(MAX_COLUMNS * MAX_COLUMNS);
  private readonly inverse = new Float64Array(MAX_COLUMNS * MAX_COLUMNS);
  private readonly work = new Float64Array(MAX_COLUMNS * MAX_COLUMNS);
  private readonly rhs = new Float64Array(MAX_COLUMNS);
  private readonly x = new Float64Array(MAX_COLUMNS);

  fit(
    rows: number,
    columns: number,
    row: (i: number, x: Float64Array) => number,
    minVariance: number,
  ): LeastSquaresFit | null {
    const { matrix, rhs, x } = this;
    matrix.fill(0);
    rhs.fill(0);
    let count = 0;
    for (let i = 0; i < rows; i++) {
      const y = row(i, x);
      if (Number.isNaN(y)) continue;
      count++;
      for (let a = 0; a < columns; a++) {
        rhs[a] = (rhs[a] as number) + (x[a] as number) * y;
        for (let b = 0; b < columns; b++) {
          matrix[a * MAX_COLUMNS + b] = (matrix[a * MAX_COLUMNS + b] as number) + (x[a] as number) * (x[b] as number);
        }
      }
    }
    if (count <= columns || !this.invert(columns)) return null;
    const coefficients = new Float64Array(columns);
    for (let a = 0; a < columns; a++) {
      let sum = 0;
      for (let b = 0; b < columns; b++) sum += (this.inverse[a * MAX_COLUMNS + b] as number) * (rhs[b] as number);
      coefficients[a] = sum;
    }
    let rss = 0;
    for (let i = 0; i < rows; i++) {
      const y = row(i, x);
      if (Number.isNaN(y)) continue;
      let fitted = 0;
      for (let a = 0; a < columns; a++) fitted += (coefficients[a] as number) * (x[a] as number);
      rss += (y - fitted) ** 2;
    }
    const variance = Math.max(rss / (count - columns), minVariance);
    const stdErrors = new Float64Array(columns);
    for (let a = 0; a < columns; a++)
      stdErrors[a] = Math.sqrt(variance * (this.inverse[a * MAX_COLUMNS + a] as number));
    return { coefficients, stdErrors, points: count };
  }

  /** Gauss-Jordan with partial pivoting on the normal equations; false when a pivot vanishes (collinear columns). */
  private invert(columns: number): boolean {
    const { matrix, inverse, work } = this;
    inverse.fill(0);
    for (let a = 0; a < columns; a++) inverse[a * MAX_COLUMNS + a] = 1;
    work.set(matrix);
    for (let col = 0; col < columns; col++) {
      let pivot = col;
      for (let r = col + 1; r < columns; r++) {
        if (Math.abs(work[r * MAX_COLUMNS + col] as number) > Math.abs(work[pivot * MAX_COLUMNS + col] as number))
          pivot = r;
      }
      const scale = Math.sqrt(Math.abs(matrix[col * MAX_COLUMNS + col] as number));
      const value = work[pivot * MAX_COLUMNS + col] as number;
      if (!(Math.abs(value) > COLLINEAR * scale * scale)) return false;
      if (pivot !== col) {
        for (let b = 0; b < MAX_COLUMNS; b++) {
          swap(work, col * MAX_COLUMNS + b, pivot * MAX_COLUMNS + b);
          swap(inverse, col * MAX_COLUMNS + b, pivot * MAX_COLUMNS + b);
        }
      }
      for (let b = 0; b < columns; b++) {
        work[col * MAX_COLUMNS + b] = (work[col * MAX_COLUMNS + b] as number) / value;
        inverse[col * MAX_COLUMNS + b] = (inverse[col * MAX_COLUMNS + b] as number) / value;
      }
      for (let r = 0; r < columns; r++) {
        if (r === col) continue;
        const factor = work[r * MAX_COLUMNS + col] as number;
        if (factor === 0) continue;
        for (let b = 0; b < columns; b++) {
          work[r * MAX_COLUMNS + b] =
            (work[r * MAX_COLUMNS + b] as number) - factor * (work[col * MAX_COLUMNS + b] as number);
          inverse[r * MAX_COLUMNS + b] =
            (inverse[r * MAX_COLUMNS + b] as number) - factor * (inverse[col * MAX_COLUMNS + b] as number);
        }
      }
    }
    return true;
  }
}

function swap(values: Float64Array, a: number, b: number): void {
  const kept = values[a] as number;
  values[a] = values[b] as number;
  values[b] = kept;
}
