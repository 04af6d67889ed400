/**
 * One line of progress on stderr beneath the logs. On a terminal it is redrawn in place and log
 * lines are written above it; elsewhere (a pipe, CI) it is printed as a plain line at most every
 * `everyMs`, so a log file does not fill with progress.
 */
export interface StatusOutput {
  write(text: string): unknown;
  /** A terminal: redraw in place. */
  readonly isTTY?: boolean;
}

const CLEAR = '\r\x1b[K';

export class StatusLine {
  private text = '';
  private lastPrinted = -Infinity;
  private lastPrintedText = '';

  /**
   * @param out where to write. @default process.stderr
   * @param everyMs off a terminal, the shortest time between two printed lines. @default 5000
   * @param now the clock (tests). @default Date.now
   */
  constructor(
    private readonly out: StatusOutput = process.stderr,
    private readonly everyMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  get isTTY(): boolean {
    return this.out.isTTY === true;
  }

  /**
   * Shows `text` as the current progress (`force`: print it off a terminal whatever the interval,
   * unless it is the line printed last: a final update that changes nothing is not repeated).
   */
  update(text: string, force = false): void {
    this.text = text;
    if (this.isTTY) {
      this.out.write(`${CLEAR}${text}`);
      return;
    }
    const t = this.now();
    const due = force ? text !== this.lastPrintedText : t - this.lastPrinted >= this.everyMs;
    if (due) {
      this.lastPrinted = t;
      this.lastPrintedText = text;
      this.out.write(`${text}\n`);
    }
  }

  /** Writes `chunk` (whole lines) above the progress line. */
  above(chunk: string): void {
    if (this.isTTY && this.text !== '') this.out.write(`${CLEAR}${chunk}${this.text}`);
    else this.out.write(chunk);
  }

  /** Leaves the last progress on the screen and moves below it. */
  done(): void {
    if (this.isTTY && this.text !== '') this.out.write('\n');
    this.text = '';
  }
}
