// The Bitrix24 portal emulator: an HTTPS server on 127.0.0.1 with the REST surface, the OAuth server and a control
// API, behaving as the reference notes and the official docs describe a cloud portal.
import { dirname, resolve } from 'node:path';
import { batchMethods } from './batch.js';
import { ensureCertificates } from './certs.js';
import { EmulatorControl } from './control.js';
import type { OperatingLimit, RateLimit } from './limits.js';
import { bizprocMethods } from './methods/bizproc.js';
import { commonMethods } from './methods/common.js';
import { crmActivityMethods } from './methods/crm-activity.js';
import { crmAutomationMethods } from './methods/crm-automation.js';
import { crmCategoryMethods } from './methods/crm-category.js';
import { crmDetailsMethods } from './methods/crm-details.js';
import { crmItemMethods } from './methods/crm-items.js';
import { crmStatusMethods } from './methods/crm-status.js';
import { crmUniversalMethods } from './methods/crm-universal.js';
import { crmUserFieldMethods } from './methods/crm-userfield.js';
import { eventMethods } from './methods/events.js';
import { imMethods } from './methods/im.js';
import { taskMethods } from './methods/tasks.js';
import { Portal } from './portal.js';
import { buildRegistry } from './registry.js';
import { newPortal, type Lang } from './seed.js';
import { CONTROL_PATH, OAUTH_PATH, buildServer } from './server.js';
import { readStateFile } from './state.js';
import { Clock } from './time.js';

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
export type { DeliveryRecord, EventFaults } from './events.js';
export { EmulatorStateError } from './state.js';

export interface EmulatorOptions {
  /** Default 0 (a free port); the host is always 127.0.0.1. */
  port?: number;
  /** JSON state; the portal survives restarts. Absent: in memory. */
  stateFile?: string;
  /** Where ca.pem/ca.key/server.pem/server.key live (reused if present). Default: beside stateFile, else <AUTOSALON_STATE_DIR or .autosalon>/emulator. */
  certDir?: string;
  /** LICENSE_TYPE, default 'pro'; 'ent*' → Enterprise limits. */
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
  /** Portal time zone, default Europe/Moscow. */
  timeZone?: string;
  /** Portal language (default stage names), default 'ru'. */
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

export interface RunningEmulator {
  /** https://127.0.0.1:PORT/rest/1/SECRET/ — an incoming webhook of the admin user. */
  webhookUrl: string;
  caCertPath: string;
  /** https://127.0.0.1:PORT/_control */
  controlUrl: string;
  /** OAuth server base: token endpoint `${oauthUrl}/oauth/token/`, server_endpoint `${oauthUrl}/rest/`. */
  oauthUrl: string;
  origin: string;
  memberId: string;
  control: EmulatorControl;
  /** The portal itself, for tests that need to look inside. */
  portal: Portal;
  close(): Promise<void>;
}

export function defaultCertDir(stateFile?: string): string {
  if (stateFile) return dirname(resolve(stateFile));
  return resolve(process.env.AUTOSALON_STATE_DIR || '.autosalon', 'emulator');
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const baseClock = options.clock ?? Date.now;
  const stored = options.stateFile ? await readStateFile(options.stateFile) : undefined;
  const clock = new Clock(baseClock);
  // A restarted emulator resumes the portal's own time (advanced through the control API), unless a clock is given.
  if (stored && !options.clock) clock.restoreOffset(stored.clockOffsetMs);
  const state =
    stored ??
    newPortal({
      plan: options.plan ?? 'pro',
      language: options.language ?? 'ru',
      timeZone: options.timeZone ?? 'Europe/Moscow',
      now: clock.now(),
    });
  if (stored) {
    if (options.plan) state.plan = options.plan;
    if (options.language) state.language = options.language;
    if (options.timeZone) state.timeZone = options.timeZone;
  }
  const portal = new Portal(
    state,
    {
      stateFile: options.stateFile ? resolve(options.stateFile) : undefined,
      latencyMs: options.latencyMs ?? 0,
      limits: options.limits ?? true,
      rateLimit: options.rateLimit,
      operatingLimit: options.operatingLimit ?? { limitSeconds: 480, windowSeconds: 600 },
      accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600,
      callCostSeconds: options.callCostSeconds,
      features: options.features,
      deliveryTimeoutMs: options.deliveryTimeoutMs ?? 10_000,
      requiredUserFieldCheck: options.requiredUserFieldCheck ?? false,
    },
    clock,
  );
  portal.registry = buildRegistry(
    batchMethods,
    commonMethods,
    crmStatusMethods,
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
  const control = new EmulatorControl(portal);
  const certs = await ensureCertificates(options.certDir ?? defaultCertDir(options.stateFile));
  const server = buildServer(portal, control, certs);
  await server.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const origin = `https://127.0.0.1:${port}`;
  portal.origin = origin;
  portal.oauthUrl = `${origin}${OAUTH_PATH}`;
  portal.persist();
  let closed = false;
  return {
    webhookUrl: `${origin}/rest/${state.webhook.userId}/${state.webhook.secret}/`,
    caCertPath: certs.caCertPath,
    controlUrl: `${origin}${CONTROL_PATH}`,
    oauthUrl: portal.oauthUrl,
    origin,
    memberId: state.memberId,
    control,
    portal,
    async close() {
      if (closed) return;
      closed = true;
      portal.events.close();
      await server.close();
      portal.persist();
    },
  };
}
