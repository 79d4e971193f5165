// One portal's REST work, shared by the jobs the worker runs side by side: every call and batch a job makes waits
// here briefly and goes out with the other jobs' calls in one `batch` request of up to 50 commands (a call alone goes
// as the plain call). When the queue goes follows the portal's request budget (PortalClient.budget): with the budget
// full, as soon as the jobs answered a moment ago have had their turn to add their next call — a lone event on a quiet
// portal is not held up; as the budget is spent, a batch that is not full waits a little longer for more (at most one
// refill interval), and when no request may go it is composed only once one may, so what arrives meanwhile rides
// along. One request is in flight at a time unless a full batch is waiting.
//
// Exactly once: a job records an action as started before its command is queued (ActionRunner), and the command is
// named after that action's idempotency key. A batch whose answer was lost is never sent again as a whole: reads in
// it are asked again, and every write gets LostResponseError, so its job looks the effect up (or relies on the
// notification TAG) exactly as after a lost single call. A command's own result_error goes to its own job only.
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  isReadMethod, listAll, LostResponseError, UnreachableError,
  type BatchCommand, type BatchResult, type CallResult, type ListOptions, type PortalClient, type RestCaller, type RestParams,
} from '../portal/client.js';
import { digest } from './rules.js';

const MAX_COMMANDS = 50;
/** Turns of the event loop the pipeline waits for more commands while they keep coming, before it sends anyway. */
const MAX_WAIT_TURNS = 8;
/** At most this many requests of one portal at a time (only full batches go out while one is in flight). */
const MAX_IN_FLIGHT = 2;
/**
 * A batch that is not full waits at most this long for the jobs answered a moment ago to come back with their next call
 * (the wait ends as soon as they are all back; their store writes take tens of ms on a busy PostgreSQL).
 */
const MAX_RETURN_WAIT_MS = 250;

/** The idempotency key of the action whose effect the current code performs (set by ActionRunner.once). */
export const actionScope = new AsyncLocalStorage<string>();
/** The job whose code runs (set by the service around each job): the pipeline waits for a job it answered to come back. */
export const jobScope = new AsyncLocalStorage<number>();

const REFERENCE = /\$(result|next|total|time|error)\[([^\]]+)\]/g;

interface Pending {
  /** The caller's commands, by the caller's own keys. */
  commands: Record<string, BatchCommand>;
  /** A call() rather than a batch(): answered as a CallResult, its errors thrown. */
  single: boolean;
  halt: boolean;
  /** Every command is a read: safe to send again after a lost answer. */
  read: boolean;
  /** The action it serves, if any: names its commands in the batch. */
  action?: string;
  /** The job it serves, if any. */
  job?: number;
  lostAttempts: number;
  limitAttempts: number;
  /** ms (Date.now): when it was queued. */
  queuedAt: number;
  /** Identical reads queued meanwhile share this one's answer. */
  sameRead?: string;
  followers: Pending[];
  resolve: (value: BatchResult) => void;
  reject: (error: unknown) => void;
}

export interface PipelineLog { warn(message: string): void }

export class RestPipeline implements RestCaller {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  /** Commands queued since the last turn, and turns waited for more. */
  private arrived = 0;
  private waitedTurns = 0;
  private seq = 0;
  private timer?: NodeJS.Timeout;
  /**
   * Jobs answered a moment ago and not back yet with their next call: between two calls a job records its progress in
   * the store (with PostgreSQL, round trips of real time), and a batch that is not full waits for them to ride along.
   */
  private readonly returning = new Set<number>();

  constructor(
    private readonly client: PortalClient,
    private readonly log?: PipelineLog,
  ) {}

  call<T = unknown>(method: string, params: RestParams = {}): Promise<CallResult<T>> {
    return this.enqueue({ c: { method, params } }, true, false).then((r) => ({
      result: r.result.c as T,
      ...(r.total.c !== undefined ? { total: Number(r.total.c) } : {}),
      ...(r.next.c !== undefined ? { next: Number(r.next.c) } : {}),
    }));
  }

  /** The commands go out together in one request (their `$result[...]` references stay within them). */
  batch(commands: Record<string, BatchCommand>, options: { halt?: boolean } = {}): Promise<BatchResult> {
    const keys = Object.keys(commands);
    if (keys.length === 0) return Promise.resolve({ result: {}, errors: {}, total: {}, next: {} });
    if (keys.length > MAX_COMMANDS) return Promise.reject(new Error(`a batch takes at most ${MAX_COMMANDS} commands (got ${keys.length})`));
    return this.enqueue(commands, false, options.halt ?? false);
  }

  listAll<T = Record<string, unknown>>(method: string, params: RestParams = {}, options: ListOptions = {}): Promise<T[]> {
    return listAll<T>(this, method, params, options);
  }

  private enqueue(commands: Record<string, BatchCommand>, single: boolean, halt: boolean): Promise<BatchResult> {
    return new Promise((resolve, reject) => {
      const read = Object.values(commands).every((c) => isReadMethod(c.method));
      const job = jobScope.getStore();
      if (job !== undefined) this.returning.delete(job);
      const pending: Pending = {
        commands, single, halt, read, action: actionScope.getStore(), job, lostAttempts: 0, limitAttempts: 0, queuedAt: Date.now(), followers: [], resolve, reject,
      };
      if (single && read) {
        const { method, params } = Object.values(commands)[0];
        pending.sameRead = `${method} ${JSON.stringify(params ?? {})}`;
        const leader = this.queue.find((p) => p.sameRead === pending.sameRead);
        if (leader) {
          leader.followers.push(pending);
          return;
        }
      }
      this.queue.push(pending);
      this.arrived += Object.keys(commands).length;
      this.schedule();
    });
  }

  /** The job ended: it makes no more calls, nothing waits for it. */
  jobEnded(job: number): void {
    if (this.returning.delete(job) && this.queue.length) this.schedule();
  }

  /** The jobs of these groups got their answer: their next calls are worth waiting for. */
  private answered(groups: Pending[]): void {
    for (const p of [...groups, ...groups.flatMap((g) => g.followers)]) if (p.job !== undefined) this.returning.add(p.job);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const fresh = this.arrived;
    this.arrived = 0;
    const budget = this.client.budget();
    // No request may go now: wait for the budget before composing, so what arrives meanwhile rides along.
    if (budget.nextInMs > 0) {
      this.later(budget.nextInMs);
      return;
    }
    while (this.queuedCommands() >= MAX_COMMANDS && this.inFlight < MAX_IN_FLIGHT && this.client.budget().available >= 1) this.send(this.take());
    if (this.queue.length === 0 || this.inFlight > 0) return;
    // Jobs answered a moment ago are still on their way to their next call: give them a turn, boundedly.
    if (fresh > 0 && this.waitedTurns < MAX_WAIT_TURNS) {
      this.waitedTurns++;
      this.schedule();
      return;
    }
    this.waitedTurns = 0;
    // Jobs answered a moment ago are recording their progress in the store: wait for their next calls, boundedly.
    const waitedMs = Date.now() - this.queue[0].queuedAt;
    if (this.returning.size > 0 && waitedMs < MAX_RETURN_WAIT_MS) {
      this.later(MAX_RETURN_WAIT_MS - waitedMs);
      return;
    }
    // A batch that is not full waits a little for more (events arriving, jobs on their way), the longer the less
    // budget is left: not at all on a quiet portal, so a lone event goes at once; up to one refill interval when the
    // budget is spent. Under a burst the budget goes on fuller batches instead of being spent early on small ones.
    const linger = budget.intervalMs * (1 - budget.available / budget.burst);
    const waited = Date.now() - this.queue[0].queuedAt;
    if (waited < linger) {
      this.later(linger - waited);
      return;
    }
    this.send(this.take());
  }

  private later(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.turn();
    }, Math.ceil(ms));
  }

  private queuedCommands(): number {
    let n = 0;
    for (const p of this.queue) n += Object.keys(p.commands).length;
    return n;
  }

  /** Groups for one request, in queue order: as many as fit in 50 commands; a halting batch goes alone. */
  private take(): Pending[] {
    const taken: Pending[] = [];
    let size = 0;
    const rest: Pending[] = [];
    for (const p of this.queue) {
      const n = Object.keys(p.commands).length;
      const fits = size + n <= MAX_COMMANDS && !(p.halt && taken.length > 0) && !taken.some((t) => t.halt);
      if (fits) {
        taken.push(p);
        size += n;
      } else {
        rest.push(p);
      }
    }
    this.queue = rest;
    return taken;
  }

  private send(groups: Pending[]): void {
    if (groups.length === 0) return;
    this.inFlight++;
    void this.request(groups).finally(() => {
      this.inFlight--;
      if (this.queue.length) this.schedule();
    });
  }

  private async request(groups: Pending[]): Promise<void> {
    if (groups.length === 1 && groups[0].single) {
      // Alone: the plain call, exactly as without the pipeline.
      const p = groups[0];
      const { method, params } = p.commands.c;
      try {
        const r = await this.client.call(method, params);
        this.settle(p, { result: { c: r.result }, errors: {}, total: r.total !== undefined ? { c: r.total } : {}, next: r.next !== undefined ? { c: r.next } : {} });
      } catch (error) {
        // The client has already waited out rate limits and asked a lost read again.
        this.fail(p, error, false);
      }
      return;
    }
    const combined: Record<string, BatchCommand> = {};
    const names = new Map<Pending, Map<string, string>>();
    for (const p of groups) {
      const label = p.action ? `a${digest(p.action, 10)}` : 'r';
      const own = new Map(Object.keys(p.commands).map((key) => [key, `${label}_${++this.seq}`]));
      names.set(p, own);
      for (const [key, name] of own) combined[name] = { method: p.commands[key].method, params: rewrite(p.commands[key].params ?? {}, own) };
    }
    let answer: BatchResult;
    try {
      answer = await this.client.batch(combined, { halt: groups[0].halt });
    } catch (error) {
      if (error instanceof LostResponseError && !(error instanceof UnreachableError)) {
        const unknown = groups.filter((p) => !p.read && p.action).map((p) => p.action);
        if (unknown.length) this.log?.warn(`the answer to a batch of ${Object.keys(combined).length} commands was lost; ${unknown.length} action(s) will be looked up before anything is done again`);
      }
      // A batch of reads only was asked again by the client already; in a mixed one, the reads go again here.
      const mixed = groups.some((p) => !p.read);
      for (const p of groups) this.fail(p, error, mixed);
      return;
    }
    for (const p of groups) {
      const own = names.get(p) as Map<string, string>;
      const pick = <V>(map: Record<string, V>): Record<string, V> => {
        const out: Record<string, V> = {};
        for (const [key, name] of own) if (map[name] !== undefined) out[key] = map[name];
        return out;
      };
      this.settle(p, { result: pick(answer.result), errors: pick(answer.errors), total: pick(answer.total), next: pick(answer.next) });
    }
  }

  /** The group's answer; a lone call's rate-limited command waits and goes again (it was not executed). */
  private settle(p: Pending, answer: BatchResult): void {
    const error = p.single ? answer.errors.c : undefined;
    if (error) {
      if (error.isRateLimit && p.limitAttempts < this.client.retryPolicy.limitAttempts) {
        this.again(p, 'limit');
        return;
      }
      this.fail(p, error, false);
      return;
    }
    this.answered([p]);
    p.resolve(answer);
    for (const f of p.followers) f.resolve(structuredClone(answer));
  }

  private fail(p: Pending, error: unknown, askReadAgain: boolean): void {
    // A read whose answer was lost is asked again; a write is left to its job to look up.
    if (askReadAgain && p.read && error instanceof LostResponseError && !(error instanceof UnreachableError) && p.lostAttempts + 1 < this.client.retryPolicy.readAttempts) {
      this.again(p, 'lost');
      return;
    }
    this.answered([p]);
    p.reject(error);
    for (const f of p.followers) f.reject(error);
  }

  private again(p: Pending, why: 'limit' | 'lost'): void {
    const attempt = why === 'limit' ? ++p.limitAttempts : ++p.lostAttempts;
    const { minDelayMs, maxDelayMs } = this.client.retryPolicy;
    const delay = Math.min(minDelayMs * 2 ** (attempt - 1), maxDelayMs);
    setTimeout(() => {
      this.queue.unshift(p);
      this.arrived += Object.keys(p.commands).length;
      this.schedule();
    }, delay);
  }
}

/** The group's `$result[key]` (and $next, $total, $time, $error) references, pointed at the names its commands got. */
function rewrite(value: unknown, names: Map<string, string>): RestParams {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(REFERENCE, (whole, kind: string, key: string) => (names.has(key) ? `$${kind}[${names.get(key)}]` : whole));
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as RestParams;
}
