// The worker: takes due jobs from the durable queue and hands them to the processor. It serves several portals at
// once, each portal by one runner at a time, choosing among the portals with work due the one served longest ago
// (schedule.ts): a portal's jobs wait on its own REST budget, never on another portal's backlog. A runner takes a
// batch of the portal's due jobs (up to batchSize) and runs them side by side, so their REST calls share requests
// (RestPipeline); jobs on the same CRM item run one after another, never at the same time. A job is leased, so one
// left "running" by a killed process is taken again; a failing job is retried with backoff — alone, the others of
// its batch are done — then parked as failed with its error. The clock is injectable: delayed jobs are due by it.
import type { Job, ServiceStore } from './store/types.js';

/** The longest pause between tries while the store keeps failing. */
const STORE_RETRY_MAX_MS = 30_000;

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
  /** A job that runs alone: after the portal's earlier jobs end, and before any later one starts (an install). */
  exclusive?: (job: Job) => boolean;
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
  /** How each running portal runner takes more of its portal's due jobs. */
  private readonly refills = new Map<string, () => void>();
  /** Jobs started so far (drain() reports the difference). */
  private started = 0;
  private stopping = false;
  /** Serialises claiming between the background loop and explicit drain() calls. */
  private claiming: Promise<unknown> = Promise.resolve();
  private readonly o: Required<Omit<WorkerOptions, 'onError' | 'isPermanent' | 'serialKey' | 'exclusive'>>
    & Pick<WorkerOptions, 'onError' | 'isPermanent' | 'serialKey' | 'exclusive'>;

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
      let failures = 0;
      while (this.running) {
        let wait: number;
        try {
          await this.fill();
          wait = await this.idleWait();
          failures = 0;
        } catch (error) {
          // The store itself failed (disk full, the database restarting): try again, less often the longer it lasts,
          // rather than spin or stop serving.
          this.o.onError?.({ id: 0 } as Job, error, true);
          failures++;
          wait = Math.min(STORE_RETRY_MAX_MS, this.o.pollMs * 2 ** Math.min(failures - 1, 10));
        }
        if (!this.running) break;
        // Wake when a batch ends (a slot and its portal are free again), when a job is queued, or when one falls due.
        await Promise.race([...this.inFlight.values(), this.sleep(wait)]);
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

  /** A job was queued: look now instead of at the next poll (not during the start delay); runners with room take it. */
  wake(): void {
    if (!this.delayOver) return;
    this.wakeUp?.();
    for (const refill of this.refills.values()) refill();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    this.wakeUp?.();
    await this.loop;
    await Promise.all(this.inFlight.values());
  }

  /** Starts due jobs of free portals until every slot is taken or nothing more is due; returns how many started. */
  private fill(): Promise<number> {
    const next = this.claiming.then(async () => {
      const before = this.started;
      while (this.inFlight.size < this.o.concurrency) {
        const jobs = await this.store.claimDueBatch(this.o.clock(), this.o.leaseMs, this.o.batchSize, { busy: new Set(this.inFlight.keys()) });
        if (jobs.length === 0) break;
        const { memberId } = jobs[0];
        const run = this.runPortal(memberId, jobs).finally(() => this.inFlight.delete(memberId));
        this.inFlight.set(memberId, run);
      }
      return this.started - before;
    });
    this.claiming = next.catch(() => undefined);
    return next;
  }

  /** Processes due jobs until none is due (bounded), returning how many ran. For tests and for shutdown. */
  async drain(limit = 10_000): Promise<number> {
    const before = this.started;
    while (this.started - before < limit) {
      const started = await this.fill();
      if (started === 0 && this.inFlight.size === 0) break;
      // Jobs may have ended already; racing an empty set would never settle.
      if (this.inFlight.size) await Promise.race(this.inFlight.values());
    }
    await Promise.all(this.inFlight.values());
    return this.started - before;
  }

  /**
   * One portal's runner: its jobs side by side, up to batchSize at a time, the jobs of one item in order. As jobs end,
   * more due jobs of the portal join the ones still running — their calls then share requests with those further
   * along — unless another portal waits for a runner: then this one finishes what it has and the portals take turns.
   */
  private runPortal(memberId: string, first: Job[]): Promise<void> {
    return new Promise((resolve) => {
      const tails = new Map<string, Promise<void>>();
      /** An exclusive job: what starts after it waits for it. */
      let barrier: Promise<void> = Promise.resolve();
      let active = 0;
      let refilling = false;
      const start = (job: Job) => {
        this.started++;
        active++;
        const key = this.o.serialKey?.(job) ?? `job:${job.id}`;
        const after = this.o.exclusive?.(job) ? Promise.all(tails.values()) : Promise.all([tails.get(key), barrier]);
        // The store failing to record the outcome leaves the job leased: it is taken again once the lease runs out.
        const tail = after.then(() => this.run(job)).catch((error: unknown) => this.o.onError?.(job, error, true));
        if (this.o.exclusive?.(job)) barrier = tail;
        tails.set(key, tail);
        void tail.then(() => {
          if (tails.get(key) === tail) tails.delete(key);
          active--;
          refill();
        });
      };
      const refill = () => {
        if (refilling) return;
        refilling = true;
        // After the jobs that ended together have all counted themselves out.
        setImmediate(() => void (async () => {
          try {
            const room = this.o.batchSize - active;
            if (room > 0 && !this.stopping && !(await this.othersWaiting())) {
              const more = await this.store.claimDueBatch(this.o.clock(), this.o.leaseMs, room, { memberId });
              more.forEach(start);
            }
          } catch (error) {
            this.o.onError?.({ id: 0, memberId } as Job, error, true);
          } finally {
            refilling = false;
            if (active === 0) {
              this.refills.delete(memberId);
              resolve();
            }
          }
        })());
      };
      this.refills.set(memberId, refill);
      first.forEach(start);
    });
  }

  /** Another portal has work due and no runner is free for it. */
  private async othersWaiting(): Promise<boolean> {
    if (this.inFlight.size < this.o.concurrency) return false;
    const next = await this.store.nextRunAt(new Set(this.inFlight.keys()));
    return next !== undefined && next <= this.o.clock();
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
