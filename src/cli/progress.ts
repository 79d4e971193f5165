// Progress of a run on stderr: on a terminal one line that updates in place; piped, one line per event (logs and
// scripts keep every step). Lines that must stay (a backup's path, a wait) are printed above the live line.
import type { ProgressEvent } from '../install/apply.js';
import { renderProgress } from '../install/render.js';
import { tr } from '../i18n/index.js';

export class Progress {
  private live = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  get interactive(): boolean {
    return this.stream.isTTY === true;
  }

  /** A line that stays. */
  log(text: string): void {
    this.clear();
    this.stream.write(`${text}\n`);
  }

  /** The line that updates in place (a plain line when not on a terminal). */
  status(text: string): void {
    if (!this.interactive) {
      this.stream.write(`${text}\n`);
      return;
    }
    this.stream.write(`\r\x1b[2K${text}`);
    this.live = true;
  }

  clear(): void {
    if (this.live) this.stream.write('\r\x1b[2K');
    this.live = false;
  }

  /** An installer event: batches move the live line; what must be kept is logged. */
  event(event: ProgressEvent): void {
    if (this.interactive && event.type === 'batch') {
      this.status(tr().progress.applying(event.done, event.total, event.batch, event.batches));
      return;
    }
    if (this.interactive && (event.type === 'batch-done' || event.type === 'read')) {
      const line = renderProgress(event);
      if (event.type === 'read' && line) this.status(line);
      return;
    }
    const line = renderProgress(event);
    if (line) this.log(line);
  }
}
