// The worker: takes due jobs from the durable queue and hands them to the processor. It serves several portals at
// once but each portal one job at a time, choosing among the portals with work due the one served longest ago
// (schedule.ts): a portal's jobs wait on its own REST budget, never on another portal's backlog. A job is leased,
// so one left "running" by a killed process is taken again; a failing job is retried with backoff, then parked as
// failed with its error. The clock is injectable: delayed jobs are due by that clock.
import type { Job, ServiceStore } from './store/types.js';

export interface WorkerOptions {
  clock: () => number;
  /** Wait before the first job (see AUTOSALON_WORKER_START_DELAY_MS). */
  startDelayMs: number;
  /** How often an idle worker looks again (it is also woken when a job is queued). */
  pollMs: number;
  /** How many portals are served at the same time (default 8). */
  concurrency?: number;
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
  /** The job each portal is running now (one at most). */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Serialises claiming between the background loop and explicit drain() calls. */
  private claiming: Promise<unknown> = Promise.resolve();
  private readonly o: Required<Omit<WorkerOptions, 'onError' | 'isPermanent'>> & Pick<WorkerOptions, 'onError' | 'isPermanent'>;

  constructor(
    private readonly store: ServiceStore,
    private readonly handle: (job: Job) => Promise<void>,
    options: WorkerOptions,
  ) {
    this.o = { concurrency: 8, leaseMs: 10 * 60_000, maxAttempts: 8, retryBaseMs: 5_000, retryMaxMs: 15 * 60_000, ...options };
  }

  /** Starts the background loop (after the start delay). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      await this.sleep(this.o.startDelayMs);
      this.delayOver = true;
      while (this.running) {
        try {
          await this.fill();
        } catch (error) {
          // The store itself failed (disk full, locked): wait and try again rather than spin.
          this.o.onError?.({ id: 0 } as Job, error, true);
        }
        if (!this.running) break;
        // Wake when a job ends (a slot and its portal are free again), when one is queued, or when one falls due.
        await Promise.race([...this.inFlight.values(), this.sleep(await this.idleWait())]);
      }
    })();
  }

  private async idleWait(): Promise<number> {
    const next = await this.store.nextRunAt(new Set(this.inFlight.keys()));
    if (next === undefined) return this.o.pollMs;
    return Math.max(0, Math.min(this.o.pollMs, next - this.o.clock()));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      clearTimeout(this.timer);
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
    await Promise.all(this.inFlight.values());
  }

  /** Starts due jobs of free portals until every slot is taken or nothing more is due; returns how many started. */
  private fill(): Promise<number> {
    const next = this.claiming.then(async () => {
      let started = 0;
      while (this.inFlight.size < this.o.concurrency) {
        const job = await this.store.claimDue(this.o.clock(), this.o.leaseMs, new Set(this.inFlight.keys()));
        if (!job) break;
        const run = this.run(job).finally(() => this.inFlight.delete(job.memberId));
        this.inFlight.set(job.memberId, run);
        started++;
      }
      return started;
    });
    this.claiming = next.catch(() => undefined);
    return next;
  }

  /** Processes due jobs until none is due (bounded), returning how many ran. For tests and for shutdown. */
  async drain(limit = 10_000): Promise<number> {
    let n = 0;
    while (n < limit) {
      const started = await this.fill();
      if (started === 0 && this.inFlight.size === 0) break;
      n += started;
      // Jobs may have ended already; racing an empty set would never settle.
      if (this.inFlight.size) await Promise.race(this.inFlight.values());
    }
    await Promise.all(this.inFlight.values());
    return n;
  }

  private async run(job: Job): Promise<void> {
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
  }
}
