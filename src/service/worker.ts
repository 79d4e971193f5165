// The worker: takes due jobs from the durable queue one at a time and hands them to the processor. A job is
// leased, so one left "running" by a killed process is taken again; a failing job is retried with backoff,
// then parked as failed with its error. The clock is injectable: delayed jobs are due by that clock.
import type { Job, ServiceStore } from './store/types.js';

export interface WorkerOptions {
  clock: () => number;
  /** Wait before the first job (see AUTOSALON_WORKER_START_DELAY_MS). */
  startDelayMs: number;
  /** How often an idle worker looks again (it is also woken when a job is queued). */
  pollMs: number;
  /** A job taken longer ago than this is considered abandoned. */
  leaseMs?: number;
  maxAttempts?: number;
  /** Backoff before attempt n+1: min(base * 2^(n-1), max). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Errors that retrying cannot fix: the job fails at once. */
  isPermanent?: (error: unknown) => boolean;
  onError?: (job: Job, error: unknown, willRetry: boolean) => void;
}

export class Worker {
  private running = false;
  private delayOver = false;
  private timer?: NodeJS.Timeout;
  private wakeUp?: () => void;
  private loop?: Promise<void>;
  /** Serialises runOnce between the background loop and explicit drain() calls. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly o: Required<Omit<WorkerOptions, 'onError' | 'isPermanent'>> & Pick<WorkerOptions, 'onError' | 'isPermanent'>;

  constructor(
    private readonly store: ServiceStore,
    private readonly handle: (job: Job) => Promise<void>,
    options: WorkerOptions,
  ) {
    this.o = { leaseMs: 10 * 60_000, maxAttempts: 8, retryBaseMs: 5_000, retryMaxMs: 15 * 60_000, ...options };
  }

  /** Starts the background loop (after the start delay). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      await this.sleep(this.o.startDelayMs);
      this.delayOver = true;
      while (this.running) {
        let worked = false;
        try {
          worked = await this.runOnce();
        } catch (error) {
          // The store itself failed (disk full, locked): wait and try again rather than spin.
          this.o.onError?.({ id: 0 } as Job, error, true);
        }
        if (!worked && this.running) await this.sleep(await this.idleWait());
      }
    })();
  }

  private async idleWait(): Promise<number> {
    const next = await this.store.nextRunAt();
    if (next === undefined) return this.o.pollMs;
    return Math.max(0, Math.min(this.o.pollMs, next - this.o.clock()));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = () => {
        clearTimeout(this.timer);
        this.wakeUp = undefined;
        resolve();
      };
      this.timer = setTimeout(() => this.wakeUp?.(), ms);
    });
  }

  /** A job was queued: look now instead of at the next poll (not during the start delay). */
  wake(): void {
    if (this.delayOver) this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
    await this.chain.catch(() => undefined);
  }

  /** Processes one due job; false when none is due. */
  runOnce(): Promise<boolean> {
    const next = this.chain.then(() => this.takeOne());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Processes due jobs until none is due (bounded), returning how many ran. For tests and for shutdown. */
  async drain(limit = 10_000): Promise<number> {
    let n = 0;
    while (n < limit && (await this.runOnce())) n++;
    return n;
  }

  private async takeOne(): Promise<boolean> {
    const now = this.o.clock();
    const job = await this.store.claimDue(now, this.o.leaseMs);
    if (!job) return false;
    try {
      await this.handle(job);
      await this.store.complete(job.id, this.o.clock());
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const permanent = this.o.isPermanent?.(error) ?? false;
      const willRetry = !permanent && job.attempts < this.o.maxAttempts;
      this.o.onError?.(job, error, willRetry);
      if (willRetry) {
        const delay = Math.min(this.o.retryBaseMs * 2 ** (job.attempts - 1), this.o.retryMaxMs);
        await this.store.retry(job.id, this.o.clock() + delay, message);
      } else {
        await this.store.fail(job.id, message, this.o.clock());
      }
    }
    return true;
  }
}
