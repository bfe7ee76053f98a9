// The simple moving average, the plainest forecasting model the specification names.
import { RingBuffer } from './ring-buffer.js';

/** Mean and sample standard deviation of the last `window` samples; the forecast of every future step is the mean. */
export class MovingAverage {
  private readonly window: RingBuffer;

  constructor(windowSize: number) {
    this.window = new RingBuffer(windowSize);
  }

  update(x: number): void {
    this.window.push(x);
  }

  get count(): number {
    return this.window.length;
  }

  /** Mean of the window (NaN when empty). */
  get mean(): number {
    const n = this.window.length;
    if (n === 0) return Number.NaN;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += this.window.at(i);
    return sum / n;
  }

  /** Sample standard deviation of the window (0 below two samples). */
  get stdDev(): number {
    const n = this.window.length;
    if (n < 2) return 0;
    const mean = this.mean;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      const d = this.window.at(i) - mean;
      squares += d * d;
    }
    return Math.sqrt(squares / (n - 1));
  }
}
