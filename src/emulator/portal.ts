// One emulated portal: its state, clock, limits, statistics, fault switches, event queue and the helpers the methods
// share. Several portals live in one emulator; what they share (the application registry, the REST methods, the state
// file) comes in through PortalShared.
import { EventDispatcher } from './events.js';
import { RestFaultInjector } from './faults.js';
import { LeakyBucket, OperatingLimiter, planRateLimit, type OperatingLimit, type RateLimit } from './limits.js';
import type { MethodDef } from './registry.js';
import { nextId, randomToken, type AppRow, type CrmEntity, type CrmOperation, type PortalState, type RegisteredApp, type TokenRow, type UserRow } from './state.js';
import { formatDateTime, type Clock } from './time.js';

/** What the portals of one emulator share. */
export interface PortalShared {
  /** Applications registered in the emulator: one client_id and secret, whichever portal installs them. */
  applications: RegisteredApp[];
  /** The REST methods (the same on every portal; some need a plan feature). */
  methods: Map<string, MethodDef>;
  /** Writes the emulator's state file (every portal), when it has one. */
  save(): void;
}

export interface PortalConfig {
  latencyMs: number;
  limits: boolean;
  rateLimit?: RateLimit;
  operatingLimit: OperatingLimit;
  accessTokenTtlSeconds: number;
  /** Simulated execution time (seconds) of a call, per method or for all; recorded by the operating limit. */
  callCostSeconds?: number | Record<string, number>;
  /** Plan features forced on or off (feature.get codes and the gates of bizproc/automation methods). */
  features?: Record<string, boolean>;
  /** Timeout of one delivery to an app handler. */
  deliveryTimeoutMs: number;
  /** The CRM setting "Check for required custom fields" of REST calls (rest_enable_req_uf_check). */
  requiredUserFieldCheck: boolean;
}

export interface PortalStats {
  httpRequests: number;
  calls: Record<string, number>;
  /** Refusals of the real limits. */
  rejected503: number;
  rejected429: number;
  /** Injected faults (PUT /_control/faults), counted apart from the real refusals. */
  injected503: number;
  injected429: number;
  lostAnswers: number;
  latencySpikes: number;
}

const emptyStats = (): PortalStats => ({ httpRequests: 0, calls: {}, rejected503: 0, rejected429: 0, injected503: 0, injected429: 0, lostAnswers: 0, latencySpikes: 0 });

const REFRESH_TOKEN_TTL_MS = 180 * 24 * 3600 * 1000;

// Which plans carry which features is not public (bitrix24 module, Feature variables). These are the emulator's
// assumptions, overridable with the `features` option: business processes on Standard and above, automation rules
// on every paid plan, the offline-event extensions on Professional and Enterprise.
const BASE_PLANS = /^(project|tf|start|start_2019|retail|tasks|basic|self|edu)$/;
function planFeature(plan: string, code: string): boolean {
  const paid = plan !== 'project';
  switch (code) {
    case 'bizproc':
      return paid && !BASE_PLANS.test(plan) && plan !== 'crm';
    case 'crm_automation_lead':
    case 'crm_automation_deal':
    case 'crm_automation_order':
    case 'tasks_automation':
      return paid;
    case 'rest_offline_extended':
    case 'rest_auth_connector':
      return /^(pro|ent|demo|nfr)/.test(plan);
    case 'rest_access':
      return paid;
    default:
      return false;
  }
}

export class Portal {
  readonly stats: PortalStats = emptyStats();
  readonly bucket: LeakyBucket;
  readonly operating: OperatingLimiter;
  readonly events: EventDispatcher;
  readonly restFaults = new RestFaultInjector();
  /** https://127.0.0.1:PORT, set once the portal's server listens. */
  origin = '';
  /** Base of the emulator's one OAuth server (token endpoint `${oauthUrl}/oauth/token/`). */
  oauthUrl = '';
  readonly registry: Map<string, MethodDef>;

  constructor(
    public state: PortalState,
    readonly config: PortalConfig,
    readonly clock: Clock,
    readonly shared: PortalShared,
  ) {
    this.registry = shared.methods;
    this.bucket = new LeakyBucket(config.rateLimit ?? planRateLimit(state.plan), clock);
    this.operating = new OperatingLimiter(config.operatingLimit, clock);
    this.events = new EventDispatcher(this);
  }

  get lang(): 'ru' | 'en' {
    return this.state.language;
  }

  get timeZone(): string {
    return this.state.timeZone;
  }

  get domain(): string {
    return new URL(this.origin).host;
  }

  get clientEndpoint(): string {
    return `${this.origin}/rest/`;
  }

  get serverEndpoint(): string {
    return `${this.oauthUrl}/rest/`;
  }

  now(): number {
    return this.clock.now();
  }

  datetime(epochMs: number): string {
    return formatDateTime(epochMs, this.timeZone);
  }

  setPlan(plan: string): void {
    this.state.plan = plan;
    if (!this.config.rateLimit) this.bucket.setLimit(planRateLimit(plan));
  }

  feature(code: string): boolean {
    return this.config.features?.[code] ?? planFeature(this.state.plan, code);
  }

  /** REST works only on commercial plans, trial and NFR (docs: first-steps/access-to-rest-api.md). */
  get restAvailable(): boolean {
    return this.feature('rest_access');
  }

  user(id: number): UserRow | undefined {
    return this.state.users.find((u) => u.ID === id);
  }

  isAdmin(userId: number): boolean {
    return this.user(userId)?.ADMIN === true;
  }

  /** Whether the user's CRM role allows an operation on a type (administrators may do everything). */
  crmAllowed(userId: number, entity: CrmEntity, operation: CrmOperation): boolean {
    if (this.isAdmin(userId)) return true;
    return !this.state.crmDenied?.[String(userId)]?.[entity]?.includes(operation);
  }

  app(clientId: string | null): AppRow | undefined {
    return clientId ? this.state.apps.find((a) => a.clientId === clientId) : undefined;
  }

  /** A token pair for the auth block of an event or robot call: a recent one is reused, so the state stays small. */
  deliveryToken(app: AppRow, userId: number): TokenRow {
    const now = this.now();
    const reusable = this.state.tokens.find(
      (t) => t.forDelivery && !t.revoked && t.clientId === app.clientId && t.userId === userId && !t.refreshUsed && t.expires - now > 10 * 60_000,
    );
    if (reusable) return reusable;
    const token = this.issueToken(app, userId);
    token.forDelivery = true;
    return token;
  }

  /** A new OAuth token pair of an app for a user. */
  issueToken(app: AppRow, userId: number): TokenRow {
    const now = this.now();
    this.pruneTokens();
    const token: TokenRow = {
      accessToken: randomToken(32),
      refreshToken: randomToken(32),
      clientId: app.clientId,
      userId,
      scope: [...app.scope],
      expires: now + this.config.accessTokenTtlSeconds * 1000,
      refreshExpires: now + REFRESH_TOKEN_TTL_MS,
      refreshUsed: false,
    };
    this.state.tokens.push(token);
    return token;
  }

  /** Forget token pairs that can no longer be used at all. */
  private pruneTokens(): void {
    const now = this.now();
    this.state.tokens = this.state.tokens.filter((t) => t.expires > now || (!t.refreshUsed && t.refreshExpires > now));
  }

  callCost(method: string): number {
    const cost = this.config.callCostSeconds;
    if (cost === undefined) return 0;
    if (typeof cost === 'number') return cost;
    return cost[method] ?? 0;
  }

  nextId(table: string, start = 1): number {
    return nextId(this.state, table, start);
  }

  /** Writes the emulator's state file (atomically) when it has one. */
  persist(): void {
    this.shared.save();
  }

  resetStats(): void {
    Object.assign(this.stats, emptyStats());
  }
}
