/**
 * A one-line progress bar on a terminal; on a pipe or log file, a line per 10% so logs
 * stay readable.
 */
export class ProgressBar {
  private readonly started = Date.now();
  private lastDecile = -1;

  constructor(
    private readonly total: number,
    private readonly unit: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, note = ''): void {
    const frac = this.total === 0 ? 1 : Math.min(1, done / this.total);
    const rate = done / Math.max(1e-3, (Date.now() - this.started) / 1000);
    const text = `${String(Math.floor(frac * 100)).padStart(3)}% ${done}/${this.total} ${this.unit}, ${rate.toFixed(0)} ${this.unit}/s${note ? `  ${note}` : ''}`;
    if (this.out.isTTY) {
      const width = 30;
      const filled = Math.round(frac * width);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
    } else if (Math.floor(frac * 10) > this.lastDecile) {
      this.lastDecile = Math.floor(frac * 10);
      this.out.write(`${text}\n`);
    }
  }

  done(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}
