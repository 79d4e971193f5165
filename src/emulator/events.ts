// The queue server: delivers events and robot calls to application handlers after the REST answer, form-encoded,
// at most once, without retries (docs: api-reference/events/index.md). Fault switches drop or duplicate a share of
// event deliveries, for tests of handlers that must survive Bitrix24's "no retries" rule.
import { seededRandom, type EventFaults } from './faults.js';
import { toFormBody } from './params.js';
import type { Portal } from './portal.js';
import type { AppRow, TokenRow } from './state.js';

export interface DeliveryRecord {
  id: number;
  kind: 'event' | 'robot' | 'install' | 'uninstall';
  event: string;
  handler: string;
  clientId: string;
  /** The decoded payload (what the form body encodes). */
  payload: Record<string, unknown>;
  status: 'queued' | 'delivered' | 'failed' | 'dropped';
  /** How many HTTP requests were sent (2 for a duplicated delivery). */
  sent: number;
  httpStatus?: number;
  error?: string;
  queuedAt: number;
  deliveredAt?: number;
}

interface Job {
  record: DeliveryRecord;
  onDone?: (record: DeliveryRecord) => void;
}

const LOG_LIMIT = 5000;

export class EventDispatcher {
  readonly log: DeliveryRecord[] = [];
  private readonly queue: Job[] = [];
  private running = false;
  private idleWaiters: (() => void)[] = [];
  private faults: Required<Omit<EventFaults, 'seed'>> = { dropRate: 0, duplicateRate: 0, dropNext: 0, duplicateNext: 0 };
  private seed: number | undefined;
  private random: () => number = seededRandom(1);
  private seq = 0;
  private closed = false;
  /** The events queued by the REST request being served (rest/lib/event/buffer.php keeps one per PHP hit). */
  private hit: Set<string> | null = null;

  constructor(private readonly portal: Portal) {}

  setFaults(faults: EventFaults): void {
    this.faults = {
      dropRate: faults.dropRate ?? 0,
      duplicateRate: faults.duplicateRate ?? 0,
      dropNext: faults.dropNext ?? 0,
      duplicateNext: faults.duplicateNext ?? 0,
    };
    this.seed = faults.seed;
    this.random = seededRandom(faults.seed ?? 1);
  }

  getFaults(): EventFaults {
    return { ...this.faults, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }

  /**
   * The `auth` block of a delivery. With a user: that user's tokens and the app's keys (docs:
   * _includes/auth-params-in-events.md; `refresh_token` only where the server sends it: ONAPPINSTALL, robot calls).
   * Without one (automation, an agent, ONAPPUNINSTALL's sendAuth=false — the queue server gets no user either way):
   * only the portal's identity and the application token, the shape of api-reference/common/events/on-app-uninstall.md
   * and of the tokenless example in api-reference/events/index.md. scope and status come with the token answer; the
   * portal's own builder of this block does the same (Sender::getAuth, rest/lib/event/sender.php:114-145).
   */
  authBlock(app: AppRow, userId: number | null, options: { refreshToken?: boolean; token?: TokenRow } = {}): Record<string, string> {
    const p = this.portal;
    const identity = {
      domain: p.domain,
      server_endpoint: p.serverEndpoint,
      client_endpoint: p.clientEndpoint,
      member_id: p.state.memberId,
      application_token: app.applicationToken,
    };
    if (!userId) return identity;
    const token = options.token ?? p.deliveryToken(app, userId);
    return {
      access_token: token.accessToken,
      expires: String(Math.floor(token.expires / 1000)),
      expires_in: String(p.config.accessTokenTtlSeconds),
      ...(options.refreshToken ? { refresh_token: token.refreshToken } : {}),
      scope: app.scope.join(','),
      user_id: String(userId),
      status: 'L',
      ...identity,
    };
  }

  /** `ts` of a delivery: unix seconds, as a form value. */
  timestamp(): string {
    return String(Math.floor(this.portal.now() / 1000));
  }

  /**
   * Runs one REST request's work: within it, an event identical to one already queued (same handler, user and data —
   * e.g. a batch updating one deal twice) is not queued again, as Event\Buffer drops duplicates of a hit.
   */
  async withinHit<T>(work: () => Promise<T>): Promise<T> {
    const outer = this.hit;
    this.hit = new Set();
    try {
      return await work();
    } finally {
      this.hit = outer;
    }
  }

  /**
   * A CRM (or other) event: one delivery per handler bound to it by an installed app.
   * `causedBy` is the user whose action it was; null for automation, workflows and agents (no tokens then).
   */
  fire(event: string, data: Record<string, unknown>, causedBy: number | null): void {
    const name = event.toUpperCase();
    const p = this.portal;
    for (const binding of p.state.eventBindings) {
      if (binding.event !== name || binding.offline) continue;
      const app = p.app(binding.clientId);
      // Events are not sent before the installer calls installFinish (settings/app-installation/installation-finish.md).
      if (!app || !app.installed || app.setupPending) continue;
      const userId = binding.authType > 0 ? binding.authType : causedBy;
      if (this.hit) {
        const key = JSON.stringify([binding.id, userId, data]);
        if (this.hit.has(key)) continue;
        this.hit.add(key);
      }
      const payload = {
        event: name,
        event_handler_id: String(binding.id),
        data,
        ts: this.timestamp(),
        auth: this.authBlock(app, userId),
      };
      this.enqueue('event', name, binding.handler, app.clientId, payload);
    }
  }

  enqueue(kind: DeliveryRecord['kind'], event: string, handler: string, clientId: string, payload: Record<string, unknown>, onDone?: (r: DeliveryRecord) => void): DeliveryRecord {
    const record = this.logRecord(kind, event, handler, clientId, payload);
    this.queue.push({ record, onDone });
    if (!this.running) setImmediate(() => void this.run());
    return record;
  }

  /** POSTs a payload right away and waits for the answer (install/uninstall events). */
  async deliverNow(kind: DeliveryRecord['kind'], event: string, handler: string, clientId: string, payload: Record<string, unknown>): Promise<DeliveryRecord> {
    const record = this.logRecord(kind, event, handler, clientId, payload);
    await this.post(record);
    return record;
  }

  /** A new delivery in the log (the oldest fall off past LOG_LIMIT). */
  private logRecord(kind: DeliveryRecord['kind'], event: string, handler: string, clientId: string, payload: Record<string, unknown>): DeliveryRecord {
    const record: DeliveryRecord = { id: ++this.seq, kind, event, handler, clientId, payload, status: 'queued', sent: 0, queuedAt: this.portal.now() };
    this.log.push(record);
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
    return record;
  }

  private decideFault(): 'drop' | 'duplicate' | null {
    const f = this.faults;
    if (f.dropNext > 0) {
      f.dropNext--;
      return 'drop';
    }
    if (f.duplicateNext > 0) {
      f.duplicateNext--;
      return 'duplicate';
    }
    if (f.dropRate > 0 && this.random() < f.dropRate) return 'drop';
    if (f.duplicateRate > 0 && this.random() < f.duplicateRate) return 'duplicate';
    return null;
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const job = this.queue.shift()!;
        const fault = job.record.kind === 'event' ? this.decideFault() : null;
        if (fault === 'drop') {
          job.record.status = 'dropped';
        } else {
          await this.post(job.record);
          if (fault === 'duplicate') await this.post(job.record);
        }
        job.onDone?.(job.record);
      }
    } finally {
      this.running = false;
      if (this.queue.length === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        waiters.forEach((w) => w());
      }
    }
  }

  private async post(record: DeliveryRecord): Promise<void> {
    record.sent++;
    try {
      const response = await fetch(record.handler, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Bitrix24 Webhook Engine' },
        body: toFormBody(record.payload),
        signal: AbortSignal.timeout(this.portal.config.deliveryTimeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      record.httpStatus = response.status;
      // The queue server only logs failures; nothing is repeated.
      record.status = response.ok ? 'delivered' : 'failed';
    } catch (error) {
      record.status = 'failed';
      record.error = (error as Error).message;
    }
    record.deliveredAt = this.portal.now();
  }

  /** Resolves when every queued delivery has been made (or dropped). */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    waiters.forEach((w) => w());
  }
}
