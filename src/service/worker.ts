// The worker: takes due jobs from the durable queue and hands them to the processor. It serves several portals at
// once, each portal by one runner at a time, choosing among the portals with work due the one served longest ago
// (schedule.ts): a portal's jobs wait on its own REST budget, never on another portal's backlog. A runner takes a
// batch of the portal's due jobs (up to batchSize) and runs them side by side, so their REST calls share requests
// (RestPipeline); jobs on the same CRM item run one after another, never at the same time. A job is leased, so one
// left "running" by a killed process is taken again; a failing job is retried with backoff — alone, the others of
// its batch are done — then parked as failed with its error. The clock is injectable: delayed jobs are due by it.
import type { Job, ServiceStore } from './store/types.js';

export interface WorkerOptions {
  clock: () => number;
  /** Wait before the first job (see AUTOSALON_WORKER_START_DELAY_MS). */
  startDelayMs: number;
  /** How often an idle worker looks again (it is also woken when a job is queued). */
  pollMs: number;
  /** How many portals are served at the same time (default 8). */
  concurrency?: number;
  /** How many due jobs of one portal are taken and run together (default 50; 1: one job at a time). */
  batchSize?: number;
  /** Jobs with the same key (the same CRM item) never run at the same time; in a batch they run in queue order. */
  serialKey?: (job: Job) => string | undefined;
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
  /** The batch each portal is running now (one at most). */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Serialises claiming between the background loop and explicit drain() calls. */
  private claiming: Promise<unknown> = Promise.resolve();
  private readonly o: Required<Omit<WorkerOptions, 'onError' | 'isPermanent' | 'serialKey'>> & Pick<WorkerOptions, 'onError' | 'isPermanent' | 'serialKey'>;

  constructor(
    private readonly store: ServiceStore,
    private readonly handle: (job: Job) => Promise<void>,
    options: WorkerOptions,
  ) {
    this.o = { concurrency: 8, batchSize: 50, leaseMs: 10 * 60_000, maxAttempts: 8, retryBaseMs: 5_000, retryMaxMs: 15 * 60_000, ...options };
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
        // Wake when a batch ends (a slot and its portal are free again), when a job is queued, or when one falls due.
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
        const jobs = await this.store.claimDueBatch(this.o.clock(), this.o.leaseMs, this.o.batchSize, new Set(this.inFlight.keys()));
        if (jobs.length === 0) break;
        const { memberId } = jobs[0];
        const run = this.runBatch(jobs).finally(() => this.inFlight.delete(memberId));
        this.inFlight.set(memberId, run);
        started += jobs.length;
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

  /** One portal's batch: different items side by side, the jobs of one item in order. */
  private async runBatch(jobs: Job[]): Promise<void> {
    const chains = new Map<string, Job[]>();
    for (const job of jobs) {
      const key = this.o.serialKey?.(job) ?? `job:${job.id}`;
      chains.set(key, [...(chains.get(key) ?? []), job]);
    }
    await Promise.all([...chains.values()].map(async (chain) => {
      for (const job of chain) await this.run(job);
    }));
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
