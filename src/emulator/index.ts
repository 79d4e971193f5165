// The Bitrix24 portal emulator: one or more cloud portals, each an HTTPS origin of its own on 127.0.0.1 with the REST
// surface, plus one OAuth server and one control API for all of them (on portal 1's origin), behaving as the
// reference notes and the official docs describe Bitrix24.
import { dirname, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { batchMethods } from './batch.js';
import { ensureCertificates, type EmulatorCertificates } from './certs.js';
import { ControlInputError, EmulatorControl, type EmulatorStats } from './control.js';
import { registerControlRoutes, type ControlHub, type PortalSummary } from './control-http.js';
import type { OperatingLimit, RateLimit } from './limits.js';
import { bizprocMethods } from './methods/bizproc.js';
import { commonMethods } from './methods/common.js';
import { crmActivityMethods } from './methods/crm-activity.js';
import { crmAutomationMethods } from './methods/crm-automation.js';
import { crmCategoryMethods } from './methods/crm-category.js';
import { crmDetailsMethods } from './methods/crm-details.js';
import { crmItemMethods } from './methods/crm-items.js';
import { crmStageHistoryMethods } from './methods/crm-stagehistory.js';
import { crmStatusMethods } from './methods/crm-status.js';
import { crmUniversalMethods } from './methods/crm-universal.js';
import { crmUserFieldMethods } from './methods/crm-userfield.js';
import { eventMethods } from './methods/events.js';
import { imMethods } from './methods/im.js';
import { taskMethods } from './methods/tasks.js';
import { Portal, type PortalConfig, type PortalShared } from './portal.js';
import { buildRegistry } from './registry.js';
import { newPortal, type Lang } from './seed.js';
import { CONTROL_PATH, OAUTH_PATH, buildServer, registerOAuthRoutes } from './server.js';
import { readStateFile, writeStateFile, type PortalState, type RegisteredApp } from './state.js';
import { Clock, TIME_ZONE_HINT, isTimeZone } from './time.js';

export {
  EmulatorControl,
  type Collection,
  type ConversionResult,
  type ConvertLeadOptions,
  type EmulatorStats,
  type InstallAppOptions,
  type InstalledApp,
  type IssuedToken,
  type RobotRunInfo,
  type RunRobotOptions,
} from './control.js';
export type { PortalSummary } from './control-http.js';
export type { DeliveryRecord } from './events.js';
export type { EventFaults, Faults, RestFaults } from './faults.js';
export { EmulatorStateError } from './state.js';

/** One portal's own settings; what it leaves out comes from the emulator's top-level options. */
export interface PortalSpec {
  /** LICENSE_TYPE, e.g. pro, ent250, basic. */
  plan?: string;
  /** IANA time zone of the portal. */
  timeZone?: string;
  language?: Lang;
  /** Where this portal's clock stands from the shared base clock (ms). */
  clockOffsetMs?: number;
}

export interface EmulatorOptions {
  /**
   * How many portals (default 1), or each one's own settings. The other options are every portal's defaults. A state
   * file's portals are all restored, and more are added when more are asked for.
   */
  portals?: number | PortalSpec[];
  /** Portal 1's port, default 0 (a free port); the other portals always take free ports. The host is always 127.0.0.1. */
  port?: number;
  /** JSON state; the portals and the application registry survive restarts. Absent: in memory. */
  stateFile?: string;
  /** Where ca.pem/ca.key/server.pem/server.key live (reused if present). Default: beside stateFile, else <AUTOSALON_STATE_DIR or .autosalon>/emulator. */
  certDir?: string;
  /** LICENSE_TYPE, default 'pro'; 'ent*' → Enterprise limits. Given, it also replaces the plan of restored portals. */
  plan?: string;
  /** Added to every REST response. */
  latencyMs?: number;
  /** Rate and operating limits; default true. */
  limits?: boolean;
  /** Overrides the plan's leaky bucket. */
  rateLimit?: RateLimit;
  /** Default 480 s per 600 s. */
  operatingLimit?: OperatingLimit;
  /** Simulated execution time in seconds, per method (or one number for all): lets tests reach the operating limit. */
  callCostSeconds?: number | Record<string, number>;
  /** ms since epoch; drives token expiry, DATE_CREATE/DATE_MODIFY, time blocks and limits. */
  clock?: () => number;
  /** Portal time zone, default Europe/Moscow (given, it also replaces that of restored portals). */
  timeZone?: string;
  /** Portal language (default stage names), default 'ru' (given, it also replaces that of restored portals). */
  language?: Lang;
  /** Access token lifetime, default 3600. */
  accessTokenTtlSeconds?: number;
  /** Plan features forced on/off (feature.get codes; 'bizproc' gates bizproc.workflow.*). */
  features?: Record<string, boolean>;
  /** Timeout of one delivery to an app handler, default 10000 ms. */
  deliveryTimeoutMs?: number;
  /**
   * The portal's CRM setting "Check for required custom fields" for REST (rest_enable_req_uf_check): when on, adds and
   * updates refuse empty mandatory user fields. Default off, as on a new portal.
   */
  requiredUserFieldCheck?: boolean;
}

/** A portal of a running emulator. plan, timeZone and lang follow the portal as they change. */
export interface EmulatedPortal extends PortalSummary {
  lang: Lang;
  control: EmulatorControl;
  portal: Portal;
}

export interface RunningEmulator {
  /** https://127.0.0.1:PORT/rest/1/SECRET/ — an incoming webhook of portal 1's admin user. */
  webhookUrl: string;
  caCertPath: string;
  /** https://127.0.0.1:PORT/_control — the control API of every portal (?portal= selects one; portal 1 without it). */
  controlUrl: string;
  /** The one OAuth server: token endpoint `${oauthUrl}/oauth/token/`, server_endpoint `${oauthUrl}/rest/`. */
  oauthUrl: string;
  /** Portal 1's origin, web shell, member_id, control and state. */
  origin: string;
  portalUrl: string;
  memberId: string;
  control: EmulatorControl;
  /** Portal 1 itself, for tests that need to look inside. */
  portal: Portal;
  /** Every portal, portal 1 first. */
  portals: EmulatedPortal[];
  /** Starts one more portal on a port of its own. */
  addPortal(spec?: PortalSpec): Promise<EmulatedPortal>;
  close(): Promise<void>;
}

/** An option startEmulator cannot use, with what to give instead. */
export class EmulatorOptionError extends Error {
  constructor(
    /** The option, as a PortalSpec or EmulatorOptions key. */
    readonly option: string,
    /** What the option takes, to follow its name ("takes ru or en (got "de")"). */
    readonly problem: string,
    /** Which portal's spec, when it was one of them. */
    portal?: number,
  ) {
    super(`${portal ? `portal ${portal}: ` : ''}${option} ${problem}`);
    this.name = 'EmulatorOptionError';
  }
}

export function defaultCertDir(stateFile?: string): string {
  if (stateFile) return dirname(resolve(stateFile));
  return resolve(process.env.AUTOSALON_STATE_DIR || '.autosalon', 'emulator');
}

export const MAX_PORTALS = 100;
const PLAN_CODE = /^[a-z][a-z0-9_]*$/;

function checkSpec(spec: PortalSpec, portal?: number): void {
  const fail = (option: string, problem: string, got: unknown) => new EmulatorOptionError(option, `${problem} (got ${JSON.stringify(got)})`, portal);
  if (spec.plan !== undefined && !PLAN_CODE.test(spec.plan)) throw fail('plan', 'takes a plan code such as pro, ent250 or basic', spec.plan);
  if (spec.timeZone !== undefined && !isTimeZone(spec.timeZone)) throw fail('timeZone', TIME_ZONE_HINT, spec.timeZone);
  if (spec.language !== undefined && spec.language !== 'ru' && spec.language !== 'en') throw fail('language', 'takes ru or en', spec.language);
  if (spec.clockOffsetMs !== undefined && !Number.isFinite(spec.clockOffsetMs)) throw fail('clockOffsetMs', 'takes milliseconds', spec.clockOffsetMs);
}

function requestedSpecs(portals: EmulatorOptions['portals']): PortalSpec[] {
  if (portals === undefined) return [{}];
  if (Array.isArray(portals)) {
    if (portals.length < 1 || portals.length > MAX_PORTALS) throw new EmulatorOptionError('portals', `takes 1 to ${MAX_PORTALS} portal specs (got ${portals.length})`);
    return portals;
  }
  if (!Number.isInteger(portals) || portals < 1 || portals > MAX_PORTALS) throw new EmulatorOptionError('portals', `takes a whole number from 1 to ${MAX_PORTALS} (got ${String(portals)})`);
  return Array.from({ length: portals }, () => ({}));
}

/** The REST methods every portal serves. */
function restMethods() {
  return buildRegistry(
    batchMethods,
    commonMethods,
    crmStatusMethods,
    crmStageHistoryMethods,
    crmCategoryMethods,
    crmUserFieldMethods,
    crmItemMethods,
    crmUniversalMethods,
    crmDetailsMethods,
    crmAutomationMethods,
    crmActivityMethods,
    eventMethods,
    bizprocMethods,
    imMethods,
    taskMethods,
  );
}

interface Running {
  portal: Portal;
  control: EmulatorControl;
  server: FastifyInstance;
  view: EmulatedPortal;
}

/** What the first stdout line and GET /_control/portals say of a portal. */
export function portalSummary(p: EmulatedPortal): PortalSummary {
  return { webhookUrl: p.webhookUrl, origin: p.origin, portalUrl: p.portalUrl, domain: p.domain, memberId: p.memberId, plan: p.plan, timeZone: p.timeZone };
}

function view(portal: Portal, control: EmulatorControl): EmulatedPortal {
  const state = () => portal.state;
  return {
    get webhookUrl() {
      return `${portal.origin}/rest/${state().webhook.userId}/${state().webhook.secret}/`;
    },
    origin: portal.origin,
    portalUrl: `${portal.origin}/`,
    domain: portal.domain,
    memberId: state().memberId,
    get plan() {
      return state().plan;
    },
    get timeZone() {
      return state().timeZone;
    },
    get lang() {
      return state().language;
    },
    control,
    portal,
  };
}

function sumStats(all: EmulatorStats[]): EmulatorStats {
  const total: EmulatorStats = { httpRequests: 0, calls: {}, rejected503: 0, rejected429: 0, injected503: 0, injected429: 0, lostAnswers: 0, latencySpikes: 0, pendingDeliveries: 0 };
  for (const stats of all) {
    for (const [key, value] of Object.entries(stats)) {
      if (key === 'calls') continue;
      (total as unknown as Record<string, number>)[key] += value as number;
    }
    for (const [method, count] of Object.entries(stats.calls)) total.calls[method] = (total.calls[method] ?? 0) + count;
  }
  return total;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const specs = requestedSpecs(options.portals);
  checkSpec({ plan: options.plan, timeZone: options.timeZone, language: options.language });
  specs.forEach((spec, i) => checkSpec(spec, i + 1));
  const baseClock = options.clock ?? Date.now;
  const stateFile = options.stateFile ? resolve(options.stateFile) : undefined;
  const stored = stateFile ? await readStateFile(stateFile) : undefined;
  const certs: EmulatorCertificates = await ensureCertificates(options.certDir ?? defaultCertDir(options.stateFile));
  const config: PortalConfig = {
    latencyMs: options.latencyMs ?? 0,
    limits: options.limits ?? true,
    rateLimit: options.rateLimit,
    operatingLimit: options.operatingLimit ?? { limitSeconds: 480, windowSeconds: 600 },
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600,
    callCostSeconds: options.callCostSeconds,
    features: options.features,
    deliveryTimeoutMs: options.deliveryTimeoutMs ?? 10_000,
    requiredUserFieldCheck: options.requiredUserFieldCheck ?? false,
  };
  const running: Running[] = [];
  // Nothing is written until every stored portal is up again, so an early request cannot drop the others from the file.
  let started = false;
  const applications: RegisteredApp[] = stored?.apps ?? [];
  const shared: PortalShared = {
    applications,
    methods: restMethods(),
    save() {
      if (!stateFile || !started) return;
      for (const r of running) r.portal.state.clockOffsetMs = r.portal.clock.offset;
      writeStateFile(stateFile, { apps: applications, portals: running.map((r) => r.portal.state) });
    },
  };
  let oauthUrl = '';

  const hub: ControlHub = {
    select(selector) {
      if (selector === undefined || selector === '') return running[0].control;
      const found = running.find((r) => r.portal.state.memberId === selector) ?? (/^\d+$/.test(selector) ? running[Number(selector) - 1] : undefined);
      if (!found) throw new ControlInputError(`no portal "${selector}": give a member_id or a 1-based index from GET ${CONTROL_PATH}/portals (portal=all only with GET ${CONTROL_PATH}/stats)`);
      return found.control;
    },
    portals: () => running.map((r) => portalSummary(r.view)),
    async addPortal(spec) {
      try {
        return portalSummary(await addPortal(spec));
      } catch (error) {
        throw error instanceof EmulatorOptionError ? new ControlInputError(error.message) : error;
      }
    },
    allStats() {
      const portals = running.map((r) => ({ memberId: r.view.memberId, domain: r.view.domain, ...r.control.stats() }));
      return { total: sumStats(portals), portals };
    },
  };

  /** Starts one portal's server; portal 1's also carries the OAuth server and the control API. */
  async function start(state: PortalState, clock: Clock, port: number): Promise<Running> {
    const portal = new Portal(state, config, clock, shared);
    const control = new EmulatorControl(portal);
    const server = buildServer(portal, certs);
    if (running.length === 0) {
      registerOAuthRoutes(server, () => running.map((r) => r.portal), applications);
      registerControlRoutes(server, CONTROL_PATH, hub);
    }
    await server.listen({ host: '127.0.0.1', port });
    const address = server.server.address();
    portal.origin = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
    if (!oauthUrl) oauthUrl = `${portal.origin}${OAUTH_PATH}`;
    portal.oauthUrl = oauthUrl;
    const r: Running = { portal, control, server, view: view(portal, control) };
    running.push(r);
    return r;
  }

  const newState = (spec: PortalSpec, clock: Clock): PortalState =>
    newPortal({
      plan: spec.plan ?? options.plan ?? 'pro',
      language: spec.language ?? options.language ?? 'ru',
      timeZone: spec.timeZone ?? options.timeZone ?? 'Europe/Moscow',
      now: clock.now(),
    });

  // Portals are added one at a time, so their order (and portal numbers) is the order of the calls.
  let adding: Promise<unknown> = Promise.resolve();
  async function addPortal(spec: PortalSpec = {}): Promise<EmulatedPortal> {
    checkSpec(spec);
    const next = adding.then(async () => {
      if (running.length >= MAX_PORTALS) throw new ControlInputError(`an emulator holds at most ${MAX_PORTALS} portals`);
      const clock = new Clock(baseClock);
      clock.restoreOffset(spec.clockOffsetMs ?? 0);
      const r = await start(newState(spec, clock), clock, 0);
      shared.save();
      return r.view;
    });
    adding = next.catch(() => undefined);
    return next;
  }

  const count = Math.max(stored?.portals.length ?? 0, specs.length);
  try {
    for (let i = 0; i < count; i++) {
      const spec = specs[i] ?? {};
      const clock = new Clock(baseClock);
      const restored = stored?.portals[i];
      let state: PortalState;
      if (restored) {
        // A restarted emulator resumes each portal's own time (moved through the control API), unless a clock is given.
        clock.restoreOffset(options.clock ? (spec.clockOffsetMs ?? 0) : restored.clockOffsetMs);
        state = restored;
        const plan = spec.plan ?? options.plan;
        const language = spec.language ?? options.language;
        const timeZone = spec.timeZone ?? options.timeZone;
        if (plan) state.plan = plan;
        if (language) state.language = language;
        if (timeZone) state.timeZone = timeZone;
      } else {
        clock.restoreOffset(spec.clockOffsetMs ?? 0);
        state = newState(spec, clock);
      }
      await start(state, clock, i === 0 ? (options.port ?? 0) : 0);
    }
  } catch (error) {
    await Promise.all(running.map((r) => r.server.close()));
    throw error;
  }
  started = true;
  shared.save();

  const first = running[0];
  let closed = false;
  return {
    webhookUrl: first.view.webhookUrl,
    caCertPath: certs.caCertPath,
    controlUrl: `${first.portal.origin}${CONTROL_PATH}`,
    oauthUrl,
    origin: first.portal.origin,
    portalUrl: first.view.portalUrl,
    memberId: first.view.memberId,
    control: first.control,
    portal: first.portal,
    get portals() {
      return running.map((r) => r.view);
    },
    addPortal,
    async close() {
      if (closed) return;
      closed = true;
      await adding;
      for (const r of running) r.portal.events.close();
      await Promise.all(running.map((r) => r.server.close()));
      shared.save();
    },
  };
}
