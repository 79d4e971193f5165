// The control API: what a real portal does through its UI or its own servers — installing a local application,
// event fault switches, running an app robot, converting a lead, moving the clock — plus statistics and read access
// to what REST cannot read (notifications sent, tasks, ...). Same functions in-process and over HTTP (/_control).
import type { DeliveryRecord, EventFaults } from './events.js';
import type { Portal } from './portal.js';
import { randomHex, randomToken, type AppRow, type PortalState } from './state.js';
import { ALL_SCOPES } from './seed.js';

export interface EmulatorStats {
  /** HTTP requests served to REST clients (/rest/…), a batch counting as one. */
  httpRequests: number;
  /** Method → executed calls (batch commands counted one by one, `batch` itself too). */
  calls: Record<string, number>;
  /** Requests refused with 503 QUERY_LIMIT_EXCEEDED. */
  rejected503: number;
  /** Calls refused with 429 OPERATION_TIME_LIMIT. */
  rejected429: number;
  /** Event and robot deliveries still waiting in the queue. */
  pendingDeliveries: number;
}

export interface InstallAppOptions {
  /** The app's "initial installation path": receives ONAPPINSTALL. Omit for an app without a handler. */
  handlerUrl?: string;
  /** Scopes (array or comma list); default: every scope the emulator implements. */
  scope?: string[] | string;
  /** Application code shown by app.info; default local.<client id>. */
  code?: string;
  /** The installing user (an admin); default 1. */
  userId?: number;
  /** Re-install an app installed before (same client_id/secret); a new application_token is issued. */
  clientId?: string;
}

export interface InstalledApp {
  clientId: string;
  clientSecret: string;
  applicationToken: string;
  memberId: string;
  accessToken: string;
  refreshToken: string;
  /** Unix seconds. */
  expires: number;
  expiresIn: number;
  domain: string;
  clientEndpoint: string;
  serverEndpoint: string;
  scope: string;
  userId: number;
  /** Where ONAPPINSTALL went and how the handler answered (absent without handlerUrl). */
  installDelivery?: Pick<DeliveryRecord, 'status' | 'httpStatus' | 'error'>;
}

export interface IssuedToken { accessToken: string; refreshToken: string; expires: number; userId: number; clientId: string }

export type Collection = Exclude<keyof PortalState, 'format' | 'version' | 'memberId' | 'plan' | 'language' | 'timeZone' | 'clockOffsetMs' | 'webhook' | 'seq'>;

export class EmulatorControl {
  constructor(private readonly portal: Portal) {}

  stats(): EmulatorStats {
    const s = this.portal.stats;
    return {
      httpRequests: s.httpRequests,
      calls: { ...s.calls },
      rejected503: s.rejected503,
      rejected429: s.rejected429,
      pendingDeliveries: this.portal.events.log.filter((d) => d.status === 'queued').length,
    };
  }

  /** Zeroes the counters (and empties the rate-limit bucket, so a measurement starts clean). */
  resetStats(): void {
    this.portal.resetStats();
    this.portal.bucket.reset();
  }

  /** Installs a local application as an admin does in the UI: the app gets tokens and ONAPPINSTALL is POSTed. */
  async installApp(options: InstallAppOptions = {}): Promise<InstalledApp> {
    const p = this.portal;
    const userId = options.userId ?? 1;
    if (!p.isAdmin(userId)) throw new Error(`user ${userId} is not an administrator: only an administrator can install applications`);
    const scope = typeof options.scope === 'string' ? options.scope.split(',').map((s) => s.trim()).filter(Boolean) : options.scope ?? [...ALL_SCOPES];
    let app = options.clientId ? p.app(options.clientId) : undefined;
    if (options.clientId && !app) throw new Error(`no application with client_id ${options.clientId} was ever installed here`);
    if (app) {
      Object.assign(app, { installed: true, applicationToken: randomHex(16), handlerUrl: options.handlerUrl ?? app.handlerUrl, scope, installedBy: userId });
    } else {
      const id = p.nextId('app');
      const clientId = `local.${randomHex(7)}.${String(10_000_000 + Math.floor(Math.random() * 89_999_999))}`;
      app = {
        id,
        clientId,
        clientSecret: randomToken(50),
        code: options.code ?? clientId,
        handlerUrl: options.handlerUrl ?? '',
        scope,
        applicationToken: randomHex(16),
        installedBy: userId,
        installed: true,
        version: 1,
      } satisfies AppRow;
      p.state.apps.push(app);
    }
    const token = p.issueToken(app, userId);
    const result: InstalledApp = {
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      applicationToken: app.applicationToken,
      memberId: p.state.memberId,
      accessToken: token.accessToken,
      refreshToken: token.refreshToken,
      expires: Math.floor(token.expires / 1000),
      expiresIn: p.config.accessTokenTtlSeconds,
      domain: p.domain,
      clientEndpoint: p.clientEndpoint,
      serverEndpoint: p.serverEndpoint,
      scope: scope.join(','),
      userId,
    };
    if (app.handlerUrl) {
      const payload = {
        event: 'ONAPPINSTALL',
        data: { VERSION: String(app.version), ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: p.lang },
        ts: String(Math.floor(p.now() / 1000)),
        auth: {
          access_token: token.accessToken,
          expires: String(Math.floor(token.expires / 1000)),
          expires_in: String(p.config.accessTokenTtlSeconds),
          scope: scope.join(','),
          domain: p.domain,
          server_endpoint: p.serverEndpoint,
          status: 'L',
          client_endpoint: p.clientEndpoint,
          member_id: p.state.memberId,
          user_id: String(userId),
          refresh_token: token.refreshToken,
          application_token: app.applicationToken,
        },
      };
      const record = await p.events.deliverNow('install', 'ONAPPINSTALL', app.handlerUrl, app.clientId, payload);
      result.installDelivery = { status: record.status, httpStatus: record.httpStatus, error: record.error };
    }
    p.persist();
    return result;
  }

  /**
   * Deletes the application as an admin does: ONAPPUNINSTALL goes to the handlers the app bound to it, then its
   * tokens, event handlers, robots and triggers are gone (API access is revoked before the event arrives).
   */
  async uninstallApp(clientId: string, options: { clean?: boolean } = {}): Promise<DeliveryRecord[]> {
    const p = this.portal;
    const app = p.app(clientId);
    if (!app || !app.installed) throw new Error(`no installed application with client_id ${clientId}`);
    const handlers = p.state.eventBindings.filter((b) => b.clientId === clientId && b.event === 'ONAPPUNINSTALL' && !b.offline);
    app.installed = false;
    p.state.tokens = p.state.tokens.filter((t) => t.clientId !== clientId);
    p.state.eventBindings = p.state.eventBindings.filter((b) => b.clientId !== clientId);
    p.state.robots = p.state.robots.filter((r) => r.clientId !== clientId);
    p.state.triggers = p.state.triggers.filter((t) => t.clientId !== clientId);
    const records: DeliveryRecord[] = [];
    for (const binding of handlers) {
      const payload = {
        event: 'ONAPPUNINSTALL',
        event_handler_id: String(binding.id),
        data: { LANGUAGE_ID: p.lang, CLEAN: options.clean ? '1' : '0' },
        ts: String(Math.floor(p.now() / 1000)),
        auth: {
          domain: p.domain,
          server_endpoint: p.serverEndpoint,
          client_endpoint: p.clientEndpoint,
          member_id: p.state.memberId,
          application_token: app.applicationToken,
        },
      };
      records.push(await p.events.deliverNow('uninstall', 'ONAPPUNINSTALL', binding.handler, clientId, payload));
    }
    p.persist();
    return records;
  }

  /** A token pair of an installed app for any user (e.g. a non-admin), as if that user opened the app. */
  issueToken(clientId: string, userId: number): IssuedToken {
    const app = this.portal.app(clientId);
    if (!app || !app.installed) throw new Error(`no installed application with client_id ${clientId}`);
    if (!this.portal.user(userId)) throw new Error(`no user ${userId}`);
    const t = this.portal.issueToken(app, userId);
    this.portal.persist();
    return { accessToken: t.accessToken, refreshToken: t.refreshToken, expires: Math.floor(t.expires / 1000), userId, clientId };
  }

  /** Makes the access tokens (of one app, or all) expire now; refresh tokens stay valid. */
  expireAccessTokens(clientId?: string): number {
    const now = this.portal.now();
    let count = 0;
    for (const t of this.portal.state.tokens) {
      if (clientId && t.clientId !== clientId) continue;
      if (t.expires > now) {
        t.expires = now;
        count++;
      }
    }
    this.portal.persist();
    return count;
  }

  setEventFaults(faults: EventFaults): void {
    this.portal.events.setFaults(faults);
  }

  eventFaults(): EventFaults {
    return this.portal.events.getFaults();
  }

  /** Deliveries made (events, robot calls, install/uninstall), oldest first. */
  deliveries(filter: { kind?: DeliveryRecord['kind']; event?: string } = {}): DeliveryRecord[] {
    return this.portal.events.log.filter((d) => (!filter.kind || d.kind === filter.kind) && (!filter.event || d.event === filter.event.toUpperCase()));
  }

  /** Resolves when every queued event and robot delivery has been made. */
  waitForDeliveries(): Promise<void> {
    return this.portal.events.idle();
  }

  now(): number {
    return this.portal.now();
  }

  advanceClock(ms: number): number {
    this.portal.clock.advance(ms);
    this.portal.persist();
    return this.portal.now();
  }

  setClock(epochMs: number): number {
    this.portal.clock.set(epochMs);
    this.portal.persist();
    return this.portal.now();
  }

  setPlan(plan: string): void {
    this.portal.setPlan(plan);
    this.portal.persist();
  }

  /** A copy of one collection of the portal (notifications, tasks, activities, statuses, ...). */
  collection<K extends Collection>(name: K): PortalState[K] {
    if (!(name in this.portal.state)) throw new Error(`unknown collection "${String(name)}"`);
    return structuredClone(this.portal.state[name]);
  }
}
