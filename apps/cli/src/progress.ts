import { formatMilliseconds } from './format.js';

export interface ProgressSink {
  /** Where progress lines go (stderr). */
  write: (text: string) => void;
  /** Redraw one line in place (a terminal); otherwise print a line now and then. */
  interactive: boolean;
}

/**
 * A progress bar for long work: items done of total, rate and time left. On a terminal it redraws one line at most
 * ten times a second; elsewhere (CI logs, pipes) it prints a plain line at most every five seconds.
 */
export class ProgressBar {
  private readonly started: number;
  private lastDraw = 0;
  private drawnWidth = 0;

  constructor(
    private readonly label: string,
    private readonly unit: string,
    private readonly sink: ProgressSink,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  update(done: number, total: number | undefined): void {
    const time = this.now();
    const interval = this.sink.interactive ? 100 : 5000;
    if (time - this.lastDraw < interval && done !== total) return;
    this.lastDraw = time;
    this.draw(this.line(done, total, time));
  }

  /** Replace the bar with a final line. */
  finish(summary: string): void {
    this.draw(summary);
    if (this.sink.interactive) this.sink.write('\n');
  }

  line(done: number, total: number | undefined, time = this.now()): string {
    const elapsed = Math.max(time - this.started, 1);
    const rate = (done * 1000) / elapsed;
    const width = 24;
    const fraction = total ? Math.min(done / total, 1) : 0;
    const bar = total ? `${'█'.repeat(Math.round(fraction * width)).padEnd(width, '░')} ` : '';
    const count = total ? `${done}/${total}` : `${done}`;
    const left =
      total && rate > 0 && done < total ? `, ${formatMilliseconds(((total - done) / rate) * 1000)} left` : '';
    return `${this.label} ${bar}${count} ${this.unit} (${rate.toFixed(1)}/s${left})`;
  }

  private draw(text: string): void {
    if (this.sink.interactive) {
      this.sink.write(`\r${text.padEnd(this.drawnWidth)}`);
      this.drawnWidth = text.length;
    } else {
      this.sink.write(`${text}\n`);
    }
  }
}
