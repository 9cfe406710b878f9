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

/**
 * The state of a step (a file, a pass, an epoch): on a terminal one line rewritten in
 * place; in a log or CI one line per step, its last state, so the log holds no
 * `\r`-joined text. A step longer than `quietMs` also gets a line every `quietMs`,
 * so a log shows the run is alive.
 */
export class StatusLine {
  private step: string | undefined;
  private text: string | undefined;
  private lastWrite = 0;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
    private readonly quietMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The current state of `step`; a new step ends the line of the one before. */
  update(step: string, text: string): void {
    if (this.step !== undefined && step !== this.step) this.end();
    if (this.step === undefined) this.lastWrite = this.now();
    this.step = step;
    this.text = text;
    if (this.out.isTTY) this.out.write(`\r${text}\x1b[K`);
    else if (this.now() - this.lastWrite >= this.quietMs) this.writeLine(text);
  }

  /** Ends the current step's line. */
  end(): void {
    if (this.step === undefined) return;
    if (this.out.isTTY) this.out.write('\n');
    else if (this.text !== undefined) this.writeLine(this.text);
    this.step = undefined;
    this.text = undefined;
  }

  /** A message on a line of its own; the step's line goes on below it on a terminal. */
  log(message: string): void {
    if (this.out.isTTY && this.step !== undefined) this.out.write(`\r\x1b[K${message}\n${this.text ?? ''}`);
    else this.out.write(`${message}\n`);
  }

  private writeLine(text: string): void {
    this.out.write(`${text}\n`);
    this.lastWrite = this.now();
    this.text = undefined;
  }
}
