// The Live page's recent samples: a fixed number of (time, value) pairs, oldest first, for the
// sparkline (unit-tested in test/settings.test.ts).

/** The newest `size` samples of one figure. */
export class Samples {
  times: number[] = [];
  values: number[] = [];
  constructor(readonly size: number) {}

  /** Adds a sample (t in seconds) and forgets the oldest beyond `size`. */
  push(t: number, v: number): void {
    this.times.push(t);
    this.values.push(v);
    if (this.times.length > this.size) {
      this.times.shift();
      this.values.shift();
    }
  }
}
